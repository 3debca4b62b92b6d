/**
 * Publishing a run attempt, fenced so that no two attempts can race. Order matters to readers:
 *  1. parts and errors files are written (attempt-named: nothing a reader trusts changes);
 *  2. _report.json (a failed attempt says why), unless a newer attempt's report is there;
 *  3. on success only: _SUCCESS, a manifest naming the attempt and its parts, written by
 *     compare-and-swap (If-Match on the ETag read, If-None-Match * to create) and only if no
 *     newer attempt has published and the caller's fence (the Redis turn) still says this
 *     attempt may publish; then the parts of attempts that are older and no longer active are
 *     removed. A failed or superseded attempt removes only its own files.
 * The ETag of _SUCCESS is read before the fence is asked: a writer that pauses after asking
 * (GC, a lost lock) finds its If-Match stale when it resumes, so an older attempt can never
 * replace a newer _SUCCESS and cleanup never touches a newer attempt's parts.
 */
import { failpoint } from '../core/failpoints.js';
import { PreconditionFailedError } from '../core/errors.js';
import type { RunReport } from '../report/run-report.js';
import type { Stores, StoreRef } from '../storage/stores.js';
import { readAll, type WriteOptions } from '../storage/object-store.js';
import type { Location } from '../spec/uri.js';
import { attemptNumber, compareAttempts, joinKey, LATEST_NAME, REPORT_NAME, runFileAttempt, SUCCESS_NAME } from './output-layout.js';

export interface SuccessManifest {
  runId: string;
  attempt: string;
  logicalDate: string;
  finishedAt: string;
  rows: number;
  parts: string[];
  /** Rows and bytes of each part, as finalize verified them: what an independent reader checks. */
  files?: { name: string; rows: number; bytes: number }[];
}

/** What an executor tells publishing about other attempts of the run. */
export interface PublishFence {
  /** Whether this attempt may still publish (the workers' Redis turn). */
  mayPublish(): Promise<boolean>;
  /** Whether another attempt is still running: its files survive cleanup. */
  isActive(attempt: string): Promise<boolean>;
}

/**
 * For `score` in-process, which has no Redis: the store's conditional writes alone order it
 * against other attempts, and an older attempt still running only leaves files of its own,
 * which it removes when it finds itself superseded.
 */
export const STORE_FENCE: PublishFence = { mayPublish: async () => true, isActive: async () => false };

export type PublishOutcome =
  /** _SUCCESS names this attempt (now, or already: a retried finalize). */
  | { readonly kind: 'published' }
  /** A failed attempt: its report says why (if no newer report is there); nothing published. */
  | { readonly kind: 'failed' }
  /** Held for approval (monitor.onDrift: hold): report written, parts kept, nothing published. */
  | { readonly kind: 'held' }
  /** A newer attempt published or holds the run: this one published nothing. */
  | { readonly kind: 'superseded'; readonly by: string | undefined };

export async function publishRun(out: StoreRef, report: RunReport, fence: PublishFence = STORE_FENCE): Promise<PublishOutcome> {
  const prefix = joinKey(out.key, '');
  if (report.status === 'held') {
    // A held run keeps its parts and publishes nothing until it is approved (or rejected).
    await writeFenced(out, REPORT_NAME, report.attempt, report);
    return { kind: 'held' };
  }
  if (report.status !== 'succeeded') {
    // Its errors files stay, if its report is the one readers see: they say what was wrong.
    const reported = await writeFenced(out, REPORT_NAME, report.attempt, report);
    await removeOwnFiles(out, report.attempt, new Set(reported ? report.output.errors : []));
    return { kind: 'failed' };
  }
  let current = await readVersioned(out, SUCCESS_NAME);
  const decide = (): PublishOutcome | undefined => {
    const at = attemptOf(current?.value);
    if (at === report.attempt) return { kind: 'published' };
    if (at !== undefined && compareAttempts(at, report.attempt) > 0) return { kind: 'superseded', by: at };
    return undefined;
  };
  const early = decide();
  if (early) return early.kind === 'superseded' ? supersede(out, report.attempt, early.by) : early;
  if (!(await fence.mayPublish())) return supersede(out, report.attempt, undefined);
  await writeFenced(out, REPORT_NAME, report.attempt, report);
  failpoint('before-success');
  const manifest: SuccessManifest = {
    runId: report.runId,
    attempt: report.attempt,
    logicalDate: report.logicalDate,
    finishedAt: report.finishedAt,
    rows: report.rows.scored,
    parts: report.output.parts,
    files: report.shards.flatMap((s) => (s.partKey ? [{ name: baseName(s.partKey), rows: s.rowsScored, bytes: s.partBytes ?? -1 }] : [])),
  };
  for (;;) {
    try {
      await out.store.write(prefix + SUCCESS_NAME, `${JSON.stringify(manifest)}\n`, { contentType: 'application/json', ...condition(current) });
      break;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      // Someone wrote _SUCCESS since we read it (or the SDK retried our own write): look again.
      current = await readVersioned(out, SUCCESS_NAME);
      const after = decide();
      if (after) return after.kind === 'superseded' ? supersede(out, report.attempt, after.by) : after;
    }
  }
  await removeOlderFiles(out, report.attempt, fence);
  return { kind: 'published' };
}

/** A JSON marker and the ETag it was read at. */
interface Versioned {
  readonly etag: string | undefined;
  readonly value: Record<string, unknown> | undefined;
}

/**
 * Head, then read: if the object changes in between, the ETag is the older one and a write
 * conditioned on it fails, so a decision made on the content can never be applied to a
 * different version.
 */
async function readVersioned(out: StoreRef, name: string): Promise<Versioned | undefined> {
  const key = joinKey(out.key, name);
  const head = await out.store.head(key);
  if (!head) return undefined;
  try {
    const value: unknown = JSON.parse((await readAll(await out.store.read(key))).toString('utf8'));
    return { etag: head.etag, value: value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined };
  } catch (err) {
    // Gone since the head (a concurrent delete), or unreadable: an unknown version to replace.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { name?: string }).name === 'NoSuchKey') return readVersioned(out, name);
    return { etag: head.etag, value: undefined };
  }
}

function condition(current: Versioned | undefined): Pick<WriteOptions, 'ifMatch' | 'ifNoneMatch'> {
  if (!current) return { ifNoneMatch: '*' };
  // A store without ETags cannot be fenced here; the caller's fence still applies.
  return current.etag !== undefined ? { ifMatch: current.etag } : {};
}

function attemptOf(value: Record<string, unknown> | undefined): string | undefined {
  return typeof value?.attempt === 'string' ? value.attempt : undefined;
}

/** Writes a marker unless a newer attempt's is there; false when it did not. */
async function writeFenced(out: StoreRef, name: string, attempt: string, value: unknown): Promise<boolean> {
  for (;;) {
    const current = await readVersioned(out, name);
    const at = attemptOf(current?.value);
    if (at !== undefined && compareAttempts(at, attempt) > 0) return false;
    try {
      await out.store.write(joinKey(out.key, name), `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json', ...condition(current) });
      return true;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

async function supersede(out: StoreRef, attempt: string, by: string | undefined): Promise<PublishOutcome> {
  await removeOwnFiles(out, attempt, new Set());
  return { kind: 'superseded', by };
}

/** A failed or superseded attempt's own files but `keep`, never anything the published _SUCCESS lists. */
async function removeOwnFiles(out: StoreRef, attempt: string, keep: ReadonlySet<string>): Promise<void> {
  const published = new Set(
    ((await readVersioned(out, SUCCESS_NAME))?.value?.parts as unknown[] | undefined)?.filter((p): p is string => typeof p === 'string') ?? [],
  );
  await removeFiles(out, (name, at) => at === attempt && !keep.has(name) && !published.has(name));
}

/** After publishing: files of older attempts that are no longer running. Newer ones are never touched. */
async function removeOlderFiles(out: StoreRef, attempt: string, fence: PublishFence): Promise<void> {
  const active = new Map<string, Promise<boolean>>();
  await removeFiles(out, async (_name, at) => {
    if (compareAttempts(at, attempt) >= 0) return false;
    let a = active.get(at);
    if (!a) active.set(at, (a = fence.isActive(at)));
    return !(await a);
  });
}

async function removeFiles(out: StoreRef, remove: (name: string, attempt: string) => boolean | Promise<boolean>): Promise<void> {
  const prefix = joinKey(out.key, '');
  for await (const o of out.store.list(prefix)) {
    const name = o.key.slice(prefix.length);
    // runFileAttempt matches only this run's own parts and _errors/ files, never nested prefixes.
    const at = runFileAttempt(name);
    if (at === undefined) continue;
    if (await remove(name, at)) await out.store.delete(o.key);
  }
}

/** The next attempt number for `score` at a run's output prefix: after every attempt seen there. */
export async function nextAttemptFromStore(out: StoreRef): Promise<number> {
  const newest = await newestAttemptInStore(out);
  return (newest ? attemptNumber(newest) : 0) + 1;
}

/** The newest attempt (in fence order) that left a report, a manifest, a part or an errors file at a run's output prefix. */
export async function newestAttemptInStore(out: StoreRef, except?: string): Promise<string | undefined> {
  let newest: string | undefined;
  const see = (a: string | undefined): void => {
    if (a && a !== except && (!newest || compareAttempts(a, newest) > 0)) newest = a;
  };
  const prefix = joinKey(out.key, '');
  const listed = async (): Promise<void> => {
    for await (const o of out.store.list(prefix)) see(runFileAttempt(o.key.slice(prefix.length)));
  };
  // Independent reads, at once: the newest is the largest of them whatever order they finish in.
  await Promise.all([...[REPORT_NAME, SUCCESS_NAME].map(async (name) => see(attemptOf((await readVersioned(out, name))?.value))), listed()]);
  return newest;
}

/**
 * Points <job output root>/_latest.json (jobOutputRoot in run-plan.ts: one per job) at the newest logical
 * date that has published, by
 * compare-and-swap: a backfill of an older date, or an older attempt of the same date, does
 * not move it back, and two runs publishing at once cannot lose one's update.
 */
export async function updateLatest(stores: Stores, latestRoot: Location | undefined, report: RunReport): Promise<void> {
  if (report.status !== 'succeeded' || !latestRoot) return;
  const root = stores.resolve(latestRoot);
  const latest = {
    job: report.job,
    runId: report.runId,
    attempt: report.attempt,
    logicalDate: report.logicalDate,
    output: report.output.uri,
    finishedAt: report.finishedAt,
  };
  for (;;) {
    // A missing or unreadable pointer is (re)written.
    const current = await readVersioned(root, LATEST_NAME);
    const prevDate = current?.value?.logicalDate;
    const prevAttempt = attemptOf(current?.value);
    if (typeof prevDate === 'string' && prevDate > report.logicalDate) return;
    if (prevDate === report.logicalDate && prevAttempt !== undefined && compareAttempts(prevAttempt, report.attempt) >= 0) return;
    try {
      await root.store.write(joinKey(root.key, LATEST_NAME), `${JSON.stringify(latest)}\n`, { contentType: 'application/json', ...condition(current) });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
