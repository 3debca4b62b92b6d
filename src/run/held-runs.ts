/**
 * Deciding on a held run (monitor.onDrift: hold). `approve` publishes it exactly as a successful
 * run publishes (the same publishRun and updateLatest); `reject` fails it, which removes its
 * parts. Either way the decision (who, when, why) is recorded in the report. The report is
 * rewritten by compare-and-swap on its ETag first, so two people deciding at once cannot both
 * win, and a run that a rerun replaced in the meantime is not held any more.
 */
import { PreconditionFailedError, RunStateError } from '../core/errors.js';
import type { RunReport } from '../report/run-report.js';
import { joinKey, REPORT_NAME } from './output-layout.js';
import { notifyRun } from './notify-run.js';
import { publishRun, updateLatest } from './publish.js';
import { runIdFor } from './run-identity.js';
import { jobOutputRoot, resolveRun } from './run-plan.js';
import type { JobSpec } from '../spec/job-spec.js';
import { readAll } from '../storage/object-store.js';
import type { Stores, StoreRef } from '../storage/stores.js';
import type { Approval } from '../monitor/approval.js';

export interface HeldRunRef {
  readonly spec: JobSpec;
  readonly baseDir: string;
  readonly stores: Stores;
  readonly logicalDate: string;
}

export interface Decision {
  readonly by: string;
  readonly reason?: string | undefined;
}

export async function approveRun(ref: HeldRunRef, d: Decision): Promise<RunReport> {
  const { out, report } = await claimHeld(ref, d, 'approved', (r) => {
    r.status = 'succeeded';
    delete r.reason;
  });
  const outcome = await publishRun(out, report);
  // Approval never reports a publication that did not happen (a newer attempt published first).
  if (outcome.kind === 'superseded')
    throw new RunStateError(
      `run ${report.runId} attempt ${report.attempt} was approved but not published: attempt ${outcome.by ?? '(a newer one)'} published first`,
    );
  await updateLatest(ref.stores, jobOutputRoot(ref), report);
  void notifyRun(ref.spec, report);
  return report;
}

export async function rejectRun(ref: HeldRunRef, d: Decision): Promise<RunReport> {
  const { out, report } = await claimHeld(ref, d, 'rejected', (r) => {
    r.status = 'failed';
    r.reason = `rejected by ${d.by}${d.reason ? `: ${d.reason}` : ''} (was held: ${r.reason ?? 'drift'})`;
    r.output.parts = [];
  });
  // A failed run's publish removes its own parts and leaves any earlier published attempt alone.
  await publishRun(out, report);
  void notifyRun(ref.spec, report);
  return report;
}

/** The run's output prefix (the same derivation the run used). */
export function runOutput(ref: HeldRunRef): StoreRef {
  return ref.stores.resolve(resolveRun(ref, ref.logicalDate).output);
}

async function claimHeld(
  ref: HeldRunRef,
  d: Decision,
  decision: Approval['decision'],
  change: (r: RunReport) => void,
): Promise<{ out: StoreRef; report: RunReport }> {
  const out = runOutput(ref);
  const key = joinKey(out.key, REPORT_NAME);
  const runId = runIdFor(ref.spec.name, ref.logicalDate);
  const head = await out.store.head(key);
  if (!head) throw new RunStateError(`run ${runId} has no report at ${out.store.name}/${key}: nothing to ${decision === 'approved' ? 'approve' : 'reject'}`);
  const report = JSON.parse((await readAll(await out.store.read(key))).toString('utf8')) as RunReport;
  if (report.status !== 'held')
    throw new RunStateError(`run ${runId} (attempt ${report.attempt}) is ${report.status}, not held: only a held run can be ${decision}`);
  change(report);
  report.approval = { decision, by: d.by, at: new Date().toISOString(), ...(d.reason ? { reason: d.reason } : {}) };
  try {
    await out.store.write(key, `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json', ...(head.etag ? { ifMatch: head.etag } : {}) });
  } catch (err) {
    if (err instanceof PreconditionFailedError)
      throw new RunStateError(`run ${runId} changed while it was being ${decision} (someone else decided, or a rerun finished): look at it again`, {
        cause: err,
      });
    throw err;
  }
  return { out, report };
}
