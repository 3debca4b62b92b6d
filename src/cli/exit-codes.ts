/** One place that maps failures to exit codes, so scripts and schedulers can tell them apart. */
import { ErrorRateExceededError, InputError, JobSpecError, ModelError } from '../core/errors.js';
import { UriError } from '../spec/uri.js';

export const EXIT = {
  ok: 0,
  /** Something broke inside nightshift or its services: retry or report a bug. */
  internal: 1,
  /** The job spec, the model or the command line is wrong: fix it. */
  spec: 2,
  /** The data is bad: a file-level input error, or more rejected rows than the job allows. */
  data: 3,
} as const;

export function exitCodeFor(err: unknown): number {
  // A UriError is a location someone wrote (spec or flag) that cannot be used: fix it, not retry.
  if (err instanceof JobSpecError || err instanceof ModelError || err instanceof UsageError || err instanceof UriError) return EXIT.spec;
  if (err instanceof InputError || err instanceof ErrorRateExceededError) return EXIT.data;
  return EXIT.internal;
}

export class UsageError extends Error {}
