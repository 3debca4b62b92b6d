/**
 * Where a run's files go under its output prefix. Part names carry the attempt, so a rerun
 * never overwrites the parts that the current _SUCCESS lists: readers see the old attempt
 * until the new one publishes, then the old parts are removed.
 */
import { randomBytes } from 'node:crypto';
import type { JobSpec } from '../spec/job-spec.js';

export const REPORT_NAME = '_report.json';
export const SUCCESS_NAME = '_SUCCESS';
export const LATEST_NAME = '_latest.json';

export function shardName(index: number): string {
  return String(index).padStart(5, '0');
}

/**
 * "a1-3f9c", "a2-81d0", …: the number counts a run's attempts (1 = first run, then reruns); the
 * random tag makes names unique even when counters are lost or two paths count separately
 * (a Redis flush, `score` beside `trigger`), so an attempt never deletes another's files.
 */
export function attemptName(n: number, tag = randomBytes(2).toString('hex')): string {
  return `a${n}-${tag}`;
}

export const ATTEMPT_PATTERN = /^a\d+-[0-9a-f]{4}$/;

export function attemptNumber(name: string): number {
  const m = /^a(\d+)-/.exec(name);
  return m ? Number(m[1]) : 0;
}

/**
 * Attempt order, which fences publishing: by number, then (for two paths that counted
 * separately, e.g. `score` beside the workers) by tag, so any two attempts have one order.
 */
export function compareAttempts(a: string, b: string): number {
  const d = attemptNumber(a) - attemptNumber(b);
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}

export function partName(spec: JobSpec, shard: string, attempt: string): string {
  return `part-${shard}-${attempt}.${spec.output.format}${spec.output.gzip ? '.gz' : ''}`;
}

/**
 * Errors files live under `_errors/` in the run's output, so a reader that globs `part-*` or
 * `*.csv` (pandas, DuckDB, Spark) never mixes rejected rows into scored ones; the leading `_`
 * makes Spark and Hive skip the folder too.
 */
export const ERRORS_DIR = '_errors/';

/** An errors file's name relative to the run's output prefix. */
export function errorsName(shard: string, attempt: string): string {
  return `${ERRORS_DIR}errors-${shard}-${attempt}.csv`;
}

/**
 * Where a shard of a speculatively split object writes its errors file, with lines counted from
 * its range's start: finalize writes the object's line numbers to errorsName and removes this one.
 */
export function unshiftedErrorsName(shard: string, attempt: string): string {
  return `${ERRORS_DIR}errors-${shard}-${attempt}.unshifted.csv`;
}

/** Parts and errors files of any attempt (names relative to the output prefix): what a publish may replace or remove. */
export function runFileAttempt(name: string): string | undefined {
  // errors-… at the top: where errors files were before _errors/, so a rerun still removes them.
  return /^(?:part-|_errors\/errors-|errors-|_challenger\/part-)\d{5}-(a\d+-[0-9a-f]{4})\./.exec(name)?.[1];
}

/**
 * A challenger's part lives under `_challenger/` beside the champion's part of the same shard
 * and attempt, so a reader globbing `part-*` never reads challenger scores as the run's.
 */
export const CHALLENGER_DIR = '_challenger/';

export function challengerPartKey(partKey: string): string {
  const i = partKey.lastIndexOf('/') + 1;
  return `${partKey.slice(0, i)}${CHALLENGER_DIR}${partKey.slice(i)}`;
}

export function joinKey(prefix: string, name: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}
