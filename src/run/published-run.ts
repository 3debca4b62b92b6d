/**
 * Reading what a run published, the way a reader must: `_latest.json` (the job's newest
 * published date) → the run's output prefix → `_SUCCESS` (the manifest of the one complete
 * attempt) → the parts it lists. Never a listing of the prefix: a listing can show a rerun's
 * parts before they are published, or an older attempt's parts while they are being removed.
 *
 *   const run = await findPublishedRun(job, stores);            // newest published date
 *   const run = await findPublishedRun(job, stores, { date });  // one date
 *   run.parts → [{ name, uri, bytes }]
 *   for await (const row of readPublishedRows(run, stores)) …   // { column: value } per row
 */
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { NotPublishedError } from '../core/errors.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { RunReport } from '../report/run-report.js';
import { childLocation, formatLocation, parseLocation, type Location } from '../spec/uri.js';
import { readAll } from '../storage/object-store.js';
import type { Stores } from '../storage/stores.js';
import { LATEST_NAME, REPORT_NAME, SUCCESS_NAME } from './output-layout.js';
import { jobOutputRoot, resolveRun } from './run-plan.js';
import { runIdFor } from './run-identity.js';
import { readParquetObjects } from '../formats/parquet/parquet-input.js';

export type PartFormat = 'csv' | 'jsonl' | 'parquet';

export interface PublishedPart {
  /** Name under the run's output prefix, e.g. `part-00000-a1-3f9c.csv`. */
  readonly name: string;
  readonly uri: string;
  /** Size in bytes as stored. */
  readonly bytes: number;
  readonly format: PartFormat;
  readonly gzip: boolean;
}

export interface PublishedRun {
  readonly job: string;
  readonly runId: string;
  readonly logicalDate: string;
  /** The published attempt (a1-…, a2-… after a rerun). */
  readonly attempt: string;
  readonly finishedAt: string;
  /** Rows scored (the rows of all parts). */
  readonly rows: number;
  /** The run's output prefix. */
  readonly outputUri: string;
  /** In shard order (= input order). */
  readonly parts: readonly PublishedPart[];
}

/** A row of a part: CSV cells are text; JSON Lines and Parquet values keep their types (Parquet INT64 as bigint). */
export type PublishedRow = Record<string, unknown>;

/**
 * The published run of `job` for `options.date`, or its newest published date (`_latest.json`)
 * when no date is given. Throws NotPublishedError when there is none (saying what was found).
 */
export async function findPublishedRun(job: LoadedJob, stores: Stores, options: { date?: string } = {}): Promise<PublishedRun> {
  const { spec, baseDir } = job;
  let prefix: Location;
  if (options.date !== undefined) {
    prefix = resolveRun(job, options.date).output;
  } else {
    const root = jobOutputRoot(job);
    const latest = await readJson(stores, childLocation(root, LATEST_NAME));
    if (!latest || typeof latest.output !== 'string') {
      throw new NotPublishedError(`${spec.name} has no published run yet: no ${LATEST_NAME} at ${formatLocation(childLocation(root, LATEST_NAME))}`);
    }
    prefix = parseLocation(latest.output, baseDir);
  }
  return readPublished(stores, spec.name, prefix, options.date);
}

async function readPublished(stores: Stores, job: string, prefix: Location, date: string | undefined): Promise<PublishedRun> {
  const outputUri = formatLocation(prefix);
  const manifest = await readJson(stores, childLocation(prefix, SUCCESS_NAME));
  if (!manifest) {
    const report = await readJson(stores, childLocation(prefix, REPORT_NAME));
    const last = report
      ? ` (its last attempt ${String(report.attempt)} ${String(report.status)}${typeof report.reason === 'string' && report.reason ? `: ${report.reason}` : ''})`
      : ' (no report either: it has not run, or ran elsewhere)';
    throw new NotPublishedError(`${date !== undefined ? runIdFor(job, date) : job} has not published: no ${SUCCESS_NAME} at ${outputUri}${last}`);
  }
  const names = Array.isArray(manifest.parts) ? manifest.parts.filter((p): p is string => typeof p === 'string') : [];
  const parts: PublishedPart[] = [];
  for (const name of names) {
    const loc = childLocation(prefix, name);
    const ref = stores.resolve(loc);
    const info = await ref.store.head(ref.key);
    // _SUCCESS is written after its parts and they are removed only by a newer _SUCCESS: a
    // listed part that is gone means a newer attempt published while we read. Read again.
    if (!info)
      throw new NotPublishedError(`${formatLocation(loc)} is listed in ${SUCCESS_NAME} but missing (a newer attempt may have just published; try again)`);
    parts.push({ name, uri: formatLocation(loc), bytes: info.size, ...partFormatOf(name) });
  }
  return {
    job,
    runId: String(manifest.runId),
    logicalDate: String(manifest.logicalDate),
    attempt: String(manifest.attempt),
    finishedAt: String(manifest.finishedAt),
    rows: Number(manifest.rows),
    outputUri,
    parts,
  };
}

export function partFormatOf(name: string): { format: PartFormat; gzip: boolean } {
  const gzip = name.endsWith('.gz');
  const base = gzip ? name.slice(0, -3) : name;
  const format: PartFormat = base.endsWith('.parquet') ? 'parquet' : base.endsWith('.jsonl') ? 'jsonl' : 'csv';
  return { format, gzip };
}

/** A part's bytes, gunzipped when the part is gzip. */
export async function openPublishedPart(stores: Stores, part: PublishedPart, signal?: AbortSignal): Promise<Readable> {
  const ref = stores.resolve(parseLocation(part.uri, '/'));
  const raw = await ref.store.read(ref.key, signal ? { signal } : {});
  if (!part.gzip) return raw;
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

/** The rows of every part of a published run, in order. */
export async function* readPublishedRows(run: PublishedRun, stores: Stores, options: { signal?: AbortSignal } = {}): AsyncGenerator<PublishedRow> {
  for (const part of run.parts) yield* readPartRows(stores, part, options.signal);
}

async function* readPartRows(stores: Stores, part: PublishedPart, signal: AbortSignal | undefined): AsyncGenerator<PublishedRow> {
  if (part.format === 'parquet') {
    const ref = stores.resolve(parseLocation(part.uri, '/'));
    yield* readParquetObjects({ store: ref.store, key: ref.key, display: part.uri, size: part.bytes });
    return;
  }
  const stream = await openPublishedPart(stores, part, signal);
  try {
    if (part.format === 'csv') {
      const parser = stream.pipe(parse({ columns: true, bom: true }));
      stream.on('error', (err) => parser.destroy(err));
      for await (const row of parser as AsyncIterable<PublishedRow>) yield row;
      return;
    }
    stream.setEncoding('utf8');
    let rest = '';
    for await (const chunk of stream as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') yield JSON.parse(line) as PublishedRow;
    }
    if (rest !== '') yield JSON.parse(rest) as PublishedRow;
  } finally {
    stream.destroy();
  }
}

/**
 * The report of the published attempt (its `challenger` section, monitoring…), or undefined when
 * `_report.json` is now a newer attempt's (one that failed after this one published).
 */
export async function readPublishedReport(run: PublishedRun, stores: Stores): Promise<RunReport | undefined> {
  const report = await readJson(stores, childLocation(parseLocation(run.outputUri, '/'), REPORT_NAME));
  return report?.attempt === run.attempt ? (report as unknown as RunReport) : undefined;
}

async function readJson(stores: Stores, loc: Location): Promise<Record<string, unknown> | undefined> {
  const ref = stores.resolve(loc);
  if (!(await ref.store.head(ref.key))) return undefined;
  const value: unknown = JSON.parse((await readAll(await ref.store.read(ref.key))).toString('utf8'));
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}
