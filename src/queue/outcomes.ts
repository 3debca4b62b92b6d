/**
 * The one place that maps nightshift's errors to BullMQ outcomes: user-fixable and data errors
 * fail the job at once (UnrecoverableError, no retry); everything else is retried with backoff.
 */
import { DelayedError, UnrecoverableError } from './bullmq.js';
import { ErrorRateExceededError, InputError, JobSpecError, ModelError } from '../core/errors.js';

export function toBullmqError(err: unknown): Error {
  if (err instanceof DelayedError) return err;
  if (err instanceof JobSpecError || err instanceof InputError || err instanceof ModelError || err instanceof ErrorRateExceededError) {
    const e = new UnrecoverableError(`${err.name}: ${err.message}`);
    e.cause = err;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}
