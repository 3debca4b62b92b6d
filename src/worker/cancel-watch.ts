/**
 * A cancelled attempt (queue/cancel-run.ts) as a running step sees it. The step learns of it from
 * the run record, which it polls: BullMQ's Worker.cancelJob only reaches jobs of the worker's own
 * process. Kept apart from the cancelled finalize (cancelled-attempt.ts), whose publishing
 * modules a shard does not need to load.
 */
import { RunCancelledError } from '../core/errors.js';
import type { RunRegistry } from '../queue/run-registry.js';

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
