/**
 * Attempt numbers come from two counters: the run's Redis counter (trigger) and the store
 * (`nightshift score`, which needs no Redis). An attempt whose number is not above every attempt
 * already at the run's output could not publish over it (or would win only by its random tag) — so
 * before planning, such an attempt hands the run to a successor numbered after the store's
 * newest, and ends superseded. This covers a run `score` published and a run whose Redis records
 * aged out (retention) before it was triggered again; triggers need no S3 access to number.
 */
import type { Logger } from '../core/logger.js';
import { attemptNumber } from '../run/output-layout.js';
import { newestAttemptInStore } from '../run/publish.js';
import type { ResolvedRun } from '../run/run-plan.js';
import type { PlanPayload } from '../queue/payloads.js';
import { triggerRun } from '../queue/trigger.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { WorkerContext } from './context.js';

/** The successor's attempt name, or undefined when this attempt may go on. */
export async function renumberIfBehind(ctx: WorkerContext, loaded: LoadedJob, p: PlanPayload, run: ResolvedRun, log: Logger): Promise<string | undefined> {
  const newest = await newestAttemptInStore(ctx.stores.resolve(run.output), p.attempt);
  // By number, not by the fence's full order: an equal number from the other counter would win or
  // lose the fence by its random tag, and users expect a rerun to carry a higher number.
  if (!newest || attemptNumber(newest) < attemptNumber(p.attempt)) return undefined;
  const next = await triggerRun(ctx.runs, ctx.registry, loaded, p.logicalDate, {
    rerun: true,
    trigger: 'renumbered',
    floor: attemptNumber(newest) + 1,
    ...(p.serial ? { serial: true } : {}),
    ...(p.model ? { model: p.model } : {}),
  });
  const reason = `the output already holds attempt ${newest}, numbered outside this Redis (by \`nightshift score\`, or before the run's records aged out); continued as attempt ${next.attempt}`;
  await ctx.registry.update(p.runId, p.attempt, { status: 'superseded', finishedAt: new Date().toISOString(), reason, supersededBy: next.attempt });
  await ctx.turns.release(p.runId, p.attempt);
  log.info({ newest, successor: next.attempt }, `${p.runId} ${p.attempt}: ${reason}`);
  return next.attempt;
}
