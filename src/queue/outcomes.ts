/**
 * BullMQ's side of the error→outcome table (core/outcomes.ts): an error nobody can fix by
 * retrying fails the job at once (UnrecoverableError, no retry); the rest are retried with backoff.
 * An AccessError is retried (handed to another worker): the worker's hand-back step
 * (worker/hand-back.ts) has already made it final when nobody else could take it.
 */
import { DelayedError, UnrecoverableError } from './bullmq.js';
import { isRetryable } from '../core/outcomes.js';

export function toBullmqError(err: unknown): Error {
  if (err instanceof DelayedError || err instanceof UnrecoverableError) return err;
  if (!isRetryable(err)) {
    const e = new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
    e.cause = err;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Whether a job that failed with `err` on its `attemptsMade + 1`-th try will not run again. */
export function isFinalFailure(err: unknown, attemptsMade: number, attempts: number | undefined): boolean {
  return err instanceof UnrecoverableError || !isRetryable(err) || attemptsMade + 1 >= (attempts ?? 1);
}
