/**
 * Publishing a run attempt. Order matters to readers:
 *  1. parts and errors files are written (attempt-named: nothing a reader trusts changes);
 *  2. _report.json (always: a failed attempt says why);
 *  3. on success only: _SUCCESS, a manifest naming the attempt and its parts; then the parts of
 *     older attempts are removed. A failed attempt removes its own parts and leaves the
 *     previously published attempt (if any) untouched.
 */
import { failpoint } from '../core/failpoints.js';
import type { RunReport } from '../report/run-report.js';
import type { Stores, StoreRef } from '../storage/stores.js';
import { readAll } from '../storage/object-store.js';
import { parseLocation } from '../spec/uri.js';
import { attemptNumber, joinKey, LATEST_NAME, outputRootTemplate, REPORT_NAME, runFileAttempt, SUCCESS_NAME } from './output-layout.js';

export interface SuccessManifest {
  runId: string;
  attempt: string;
  logicalDate: string;
  finishedAt: string;
  rows: number;
  parts: string[];
}

export async function publishRun(out: StoreRef, report: RunReport): Promise<void> {
  const prefix = joinKey(out.key, '');
  await out.store.write(prefix + REPORT_NAME, `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
  // A held run keeps its parts and publishes nothing until it is approved (or rejected).
  if (report.status === 'held') return;
  const keep = new Set([...report.output.parts, ...report.output.errors]);
  if (report.status === 'succeeded') {
    failpoint('before-success');
    const manifest: SuccessManifest = {
      runId: report.runId,
      attempt: report.attempt,
      logicalDate: report.logicalDate,
      finishedAt: report.finishedAt,
      rows: report.rows.scored,
      parts: report.output.parts,
    };
    await out.store.write(prefix + SUCCESS_NAME, `${JSON.stringify(manifest)}\n`, { contentType: 'application/json' });
  }
  // After publishing: remove other attempts' files. After failing: remove only our own parts,
  // and never anything the currently published _SUCCESS lists.
  const published = report.status === 'succeeded' ? new Set<string>() : await publishedParts(out);
  for await (const o of out.store.list(prefix)) {
    const name = o.key.slice(prefix.length);
    const attempt = runFileAttempt(name);
    // runFileAttempt matches only this run's own parts and _errors/ files, never nested prefixes.
    if (attempt === undefined || keep.has(name) || published.has(name)) continue;
    if (report.status === 'succeeded' || attempt === report.attempt) await out.store.delete(o.key);
  }
}

/**
 * A small JSON marker (_SUCCESS, _report.json, _latest.json) as an untyped record; undefined if
 * it is missing or unreadable, which every caller treats as "no previous state".
 */
async function readMarker(out: StoreRef, name: string): Promise<Record<string, unknown> | undefined> {
  const key = joinKey(out.key, name);
  if (!(await out.store.head(key))) return undefined;
  try {
    const value: unknown = JSON.parse((await readAll(await out.store.read(key))).toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function publishedParts(out: StoreRef): Promise<Set<string>> {
  const parts = (await readMarker(out, SUCCESS_NAME))?.parts;
  return new Set(Array.isArray(parts) ? parts.filter((p): p is string => typeof p === 'string') : []);
}

/** The next attempt number for a run's output prefix, from the last report written there. */
export async function nextAttemptFromReport(out: StoreRef): Promise<number> {
  const report = await readMarker(out, REPORT_NAME);
  return report ? attemptNumber(typeof report.attempt === 'string' ? report.attempt : '') + 1 : 1;
}

/**
 * Points <job output root>/_latest.json (outputRootTemplate: one per job) at the newest logical
 * date that has published. A backfill of an older date does not move it back.
 */
export async function updateLatest(stores: Stores, outputUriTemplate: string, baseDir: string, report: RunReport): Promise<void> {
  if (report.status !== 'succeeded') return;
  const root = stores.resolve(parseLocation(outputRootTemplate(outputUriTemplate, report.job), baseDir));
  // A missing or unreadable pointer is (re)written.
  const prev = (await readMarker(root, LATEST_NAME))?.logicalDate;
  if (typeof prev === 'string' && prev > report.logicalDate) return;
  const latest = { job: report.job, runId: report.runId, attempt: report.attempt, logicalDate: report.logicalDate, output: report.output.uri, finishedAt: report.finishedAt };
  await root.store.write(joinKey(root.key, LATEST_NAME), `${JSON.stringify(latest)}\n`, { contentType: 'application/json' });
}
