/**
 * A cancelled attempt (queue/cancel-run.ts) as the worker's steps see it. A running step learns
 * of it from the run record, which it polls: BullMQ's Worker.cancelJob only reaches jobs of the
 * worker's own process. The finalize step, which runs once no shard of the attempt is left,
 * removes what the shards wrote and publishes nothing.
 */
import { RunCancelledError } from '../core/errors.js';
import { runsTotal } from '../core/metrics.js';
import type { FinalizePayload } from '../queue/payloads.js';
import type { RunRegistry } from '../queue/run-registry.js';
import { discardAttempt } from '../run/discard-attempt.js';
import { publishRun } from '../run/publish.js';
import { buildReport } from '../report/run-report.js';
import { parseLocation } from '../spec/uri.js';
import type { WorkerContext } from './context.js';

export interface CancelWatch {
  /** Aborted when the worker cancels the job (shutdown) or the attempt is cancelled. */
  readonly signal: AbortSignal;
  /** Whether the attempt's cancellation aborted the signal. */
  readonly cancelled: () => boolean;
  /** The error to fail the step with: the cancellation, never retried. */
  readonly error: () => RunCancelledError;
  stop(): void;
}

/** How often an active step asks whether its attempt was cancelled. */
export const CANCEL_POLL_MS = 1_000;

export function watchCancel(registry: RunRegistry, runId: string, attempt: string, parent: AbortSignal | undefined, everyMs = CANCEL_POLL_MS): CancelWatch {
  const controller = new AbortController();
  let cancelled = false;
  const error = (): RunCancelledError => new RunCancelledError(`${runId} attempt ${attempt} was cancelled: stopped, nothing published`);
  const onParent = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  let asking = false;
  const timer = setInterval(() => {
    if (asking || controller.signal.aborted) return;
    asking = true;
    registry
      .isCancelled(runId, attempt)
      .then((yes) => {
        if (!yes || controller.signal.aborted) return;
        cancelled = true;
        controller.abort(error());
      })
      // Redis down: the next poll asks again; the step's own Redis calls fail meanwhile anyway.
      .catch(() => undefined)
      .finally(() => (asking = false));
  }, everyMs);
  timer.unref();
  return {
    signal: controller.signal,
    cancelled: () => cancelled,
    error,
    stop: () => {
      clearInterval(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

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
