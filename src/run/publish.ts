/**
 * Publishing a run's output prefix. Order matters to readers: a rerun first withdraws the old
 * _SUCCESS, then parts are written, stale files removed, the report written, and _SUCCESS last.
 * A failed run keeps its report and errors files (to say why) but no parts and no _SUCCESS.
 */
import type { RunReport } from '../report/run-report.js';
import type { StoreRef } from '../storage/stores.js';
import { isRunFile, joinKey, REPORT_NAME, SUCCESS_NAME } from './output-layout.js';

export async function prepareOutput(out: StoreRef): Promise<void> {
  await out.store.delete(joinKey(out.key, SUCCESS_NAME));
}

export async function publishRun(out: StoreRef, report: RunReport): Promise<void> {
  const keep = new Set([...report.output.parts, ...report.output.errors]);
  const prefix = joinKey(out.key, '');
  const stale: string[] = [];
  for await (const o of out.store.list(prefix)) {
    const name = o.key.slice(prefix.length);
    if (!name.includes('/') && isRunFile(name) && !keep.has(name)) stale.push(o.key);
  }
  for (const key of stale) await out.store.delete(key);
  await out.store.write(joinKey(out.key, REPORT_NAME), `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
  if (report.status === 'succeeded') {
    const manifest = { runId: report.runId, attempt: report.attempt, finishedAt: report.finishedAt, rows: report.rows.scored, parts: report.output.parts };
    await out.store.write(joinKey(out.key, SUCCESS_NAME), `${JSON.stringify(manifest)}\n`, { contentType: 'application/json' });
  }
}
