/** Where a run's files go under its output prefix. Names are deterministic per shard index. */
import type { JobSpec } from '../spec/job-spec.js';

export const REPORT_NAME = '_report.json';
export const SUCCESS_NAME = '_SUCCESS';

export function shardName(index: number): string {
  return String(index).padStart(5, '0');
}

export function partName(spec: JobSpec, shard: string): string {
  return `part-${shard}.${spec.output.format === 'jsonl' ? 'jsonl' : 'csv'}${spec.output.gzip ? '.gz' : ''}`;
}

export function errorsName(shard: string): string {
  return `errors-${shard}.csv`;
}

/** Files a run owns under its prefix (and may replace or remove on a rerun). */
export function isRunFile(name: string): boolean {
  return /^(part|errors)-\d{5}[.-]/.test(name);
}

export function joinKey(prefix: string, name: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}
