/**
 * The one table from error class to outcome. Every edge reads it: the CLI (exit code), the
 * BullMQ processors (retry with backoff, or fail at once), the HTTP API (status, and whether
 * the message may be shown) and the run report / registry (reason and its kind). A new error
 * class gets a row here; nothing else decides what an error means.
 */
import {
  AccessError,
  AliasConflictError,
  CancelledError,
  ConfigError,
  ErrorRateExceededError,
  errorMessage,
  InputError,
  JobSpecError,
  LockLostError,
  ModelError,
  NotPublishedError,
  PreconditionFailedError,
  RedisPolicyError,
  RegistryError,
  RegistryNotFoundError,
  RunCancelledError,
  RunStateError,
  SupersededError,
  TransientError,
  UriError,
  UsageError,
} from './errors.js';

export const EXIT = {
  ok: 0,
  /** Something broke inside nightshift or its services: retry or report a bug. */
  internal: 1,
  /** The job spec, the model or the command line is wrong: fix it. */
  spec: 2,
  /** The data is bad: a file-level input error, or more rejected rows than the job allows. */
  data: 3,
  /** The run is complete but held for approval (monitor.onDrift: hold): nothing published yet. */
  held: 4,
  /** Interrupted (Ctrl-C): 128 + SIGINT, as shells report it. */
  cancelled: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What kind of failure a report or registry record shows (and metrics can count by). */
export type FailureKind = 'usage' | 'spec' | 'model' | 'input' | 'data' | 'transient' | 'lock-lost' | 'conflict' | 'cancelled' | 'setup' | 'internal';

export interface Outcome {
  readonly kind: FailureKind;
  readonly exitCode: ExitCode;
  /** BullMQ: retry with backoff; false fails the job at once (UnrecoverableError). */
  readonly retry: boolean;
  readonly httpStatus: number;
  /**
   * What an HTTP body says. Absent: the error's own message, which names nothing internal (no
   * paths, hosts or stacks); the others may, so clients get this text instead.
   */
  readonly httpMessage?: string;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Subclasses before their parents: the first row whose class matches wins. */
const TABLE: ReadonlyArray<readonly [ErrorClass, Outcome]> = [
  [UsageError, { kind: 'usage', exitCode: EXIT.spec, retry: false, httpStatus: 400 }],
  // A setting of the process (Redis URL, refused password, port in use, log level): fix it, exit 2.
  [ConfigError, { kind: 'setup', exitCode: EXIT.spec, retry: false, httpStatus: 500, httpMessage: 'internal error' }],
  // A reader asked for output that has not been published: like asking for a run that does not exist.
  [NotPublishedError, { kind: 'usage', exitCode: EXIT.spec, retry: false, httpStatus: 404 }],
  [JobSpecError, { kind: 'spec', exitCode: EXIT.spec, retry: false, httpStatus: 500, httpMessage: 'job specs cannot be loaded' }],
  // A location someone wrote (spec or flag) that cannot be used: fix it, never retry.
  [UriError, { kind: 'spec', exitCode: EXIT.spec, retry: false, httpStatus: 400 }],
  [ModelError, { kind: 'model', exitCode: EXIT.spec, retry: false, httpStatus: 500, httpMessage: 'the model cannot be used' }],
  [InputError, { kind: 'input', exitCode: EXIT.data, retry: false, httpStatus: 422, httpMessage: 'the input data is bad' }],
  [ErrorRateExceededError, { kind: 'data', exitCode: EXIT.data, retry: false, httpStatus: 422, httpMessage: 'too many rows rejected' }],
  [
    TransientError,
    { kind: 'transient', exitCode: EXIT.internal, retry: true, httpStatus: 503, httpMessage: 'a service nightshift needs is unavailable; try again' },
  ],
  // The shard goes on with its new owner; this attempt is only abandoned.
  [LockLostError, { kind: 'lock-lost', exitCode: EXIT.internal, retry: true, httpStatus: 500, httpMessage: 'internal error' }],
  // A conditional write lost to another writer: a new try re-reads what is there and decides again.
  [
    PreconditionFailedError,
    { kind: 'conflict', exitCode: EXIT.internal, retry: true, httpStatus: 409, httpMessage: 'another writer changed it first; try again' },
  ],
  // A newer attempt of the run published first: nothing to retry, this attempt's work is moot.
  [SupersededError, { kind: 'conflict', exitCode: EXIT.internal, retry: false, httpStatus: 409, httpMessage: 'a newer attempt of the run published first' }],
  // A person cancelled the run: its shards stop for good (no other worker takes them up again).
  [RunCancelledError, { kind: 'cancelled', exitCode: EXIT.cancelled, retry: false, httpStatus: 409, httpMessage: 'the run was cancelled' }],
  // A shard cancelled by a worker's shutdown goes back to the queue for another worker.
  [CancelledError, { kind: 'cancelled', exitCode: EXIT.cancelled, retry: true, httpStatus: 503, httpMessage: 'cancelled; try again' }],
  // This process's credentials or paths: a worker hands the job to another (worker/hand-back.ts);
  // a command run by hand exits 2, as for any configuration to fix.
  [
    AccessError,
    { kind: 'setup', exitCode: EXIT.spec, retry: true, httpStatus: 500, httpMessage: "storage cannot be reached with this process's configuration" },
  ],
  // The model registry: messages name models, versions and the registry URI, nothing internal.
  [RegistryNotFoundError, { kind: 'model', exitCode: EXIT.spec, retry: false, httpStatus: 404 }],
  // Someone moved the alias first: the user looks at the current version and decides again.
  [AliasConflictError, { kind: 'conflict', exitCode: EXIT.spec, retry: false, httpStatus: 409 }],
  [RegistryError, { kind: 'model', exitCode: EXIT.spec, retry: false, httpStatus: 400 }],
  // approve/reject of a run that is not held (any more): the user looks at the run again.
  [RunStateError, { kind: 'conflict', exitCode: EXIT.spec, retry: false, httpStatus: 409 }],
  [RedisPolicyError, { kind: 'setup', exitCode: EXIT.internal, retry: false, httpStatus: 500, httpMessage: 'internal error' }],
];

const INTERNAL: Outcome = { kind: 'internal', exitCode: EXIT.internal, retry: true, httpStatus: 500, httpMessage: 'internal error' };

export function outcomeOf(err: unknown): Outcome {
  for (const [Class, outcome] of TABLE) if (err instanceof Class) return outcome;
  return INTERNAL;
}

/** The exit code of a CLI command that failed with `err`. */
export function exitCodeFor(err: unknown): ExitCode {
  return outcomeOf(err).exitCode;
}

/** Whether another try could succeed (BullMQ retries it); false for errors someone must fix. */
export function isRetryable(err: unknown): boolean {
  return outcomeOf(err).retry;
}

/** The text an HTTP client gets for `err`. */
export function httpMessage(err: unknown): string {
  return outcomeOf(err).httpMessage ?? errorMessage(err);
}

/** The `reason` a failed report and the registry show for `err`. */
export function reportReason(err: unknown): string {
  return errorMessage(err);
}
