/**
 * Where a run's files go under its output prefix. Part names carry the attempt, so a rerun
 * never overwrites the parts that the current _SUCCESS lists: readers see the old attempt
 * until the new one publishes, then the old parts are removed.
 */
import type { JobSpec } from '../spec/job-spec.js';

export const REPORT_NAME = '_report.json';
export const SUCCESS_NAME = '_SUCCESS';
export const LATEST_NAME = '_latest.json';

export function shardName(index: number): string {
  return String(index).padStart(5, '0');
}

/** "a1", "a2", …: attempt 1 is the first run of a logical date, later ones are reruns. */
export function attemptName(n: number): string {
  return `a${n}`;
}

export function attemptNumber(name: string): number {
  const m = /^a(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}

export function partName(spec: JobSpec, shard: string, attempt: string): string {
  return `part-${shard}-${attempt}.${spec.output.format === 'jsonl' ? 'jsonl' : 'csv'}${spec.output.gzip ? '.gz' : ''}`;
}

export function errorsName(shard: string, attempt: string): string {
  return `errors-${shard}-${attempt}.csv`;
}

/** Parts and errors files of any attempt: what a publish may replace or remove. */
export function runFileAttempt(name: string): string | undefined {
  return /^(?:part|errors)-\d{5}-(a\d+)\./.exec(name)?.[1];
}

export function joinKey(prefix: string, name: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}
