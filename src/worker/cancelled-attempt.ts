/**
 * A cancelled attempt (queue/cancel-run.ts) at its finalize step, which runs once no shard of the
 * attempt is left: it removes what the shards wrote and publishes nothing. (Running steps learn
 * of the cancel through cancel-watch.ts.)
 */
import { runsTotal } from '../core/metrics.js';
import type { FinalizePayload } from '../queue/payloads.js';
import { discardAttempt } from '../run/discard-attempt.js';
import { publishRun } from '../run/publish.js';
import { buildReport } from '../report/run-report.js';
import { parseLocation } from '../spec/uri.js';
import type { WorkerContext } from './context.js';

/** Finalize of a cancelled attempt: its shards have all stopped; remove their files, free the run. */
export async function endCancelledAttempt(ctx: WorkerContext, p: FinalizePayload): Promise<{ status: 'cancelled' }> {
  const loaded = ctx.scorers.spec(p.specFile, p.specText);
  const out = ctx.stores.resolve(parseLocation(p.outputUri, loaded.baseDir));
  await discardAttempt(out, p.attempt);
  // The output prefix says why there is no _SUCCESS (unless a newer attempt's report is there).
  const reason = (await ctx.registry.get(p.runId, p.attempt))?.reason ?? 'cancelled';
  const facts = {
    runId: p.runId,
    attempt: p.attempt,
    job: p.job,
    logicalDate: p.logicalDate,
    startedAt: new Date(p.triggeredAt),
    finishedAt: new Date(),
    model: p.model,
    inputUri: p.inputUri,
    outputUri: p.outputUri,
    maxErrorRate: loaded.spec.limits.maxErrorRate,
  };
  await publishRun(out, { ...buildReport(facts, [], reason), status: 'cancelled' });
  await ctx.turns.release(p.runId, p.attempt);
  runsTotal.inc({ job: p.job, status: 'cancelled' });
  ctx.log.info(
    { job: p.job, runId: p.runId, attempt: p.attempt, status: 'cancelled' },
    `run ${p.runId} ${p.attempt} cancelled: its files removed, nothing published`,
  );
  return { status: 'cancelled' };
}
