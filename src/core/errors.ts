/**
 * Every error nightshift raises, in one hierarchy. Each class says what happens next; what that
 * means at each edge (exit code, BullMQ retry, HTTP status, report reason) is one row of the
 * table in core/outcomes.ts.
 * - UsageError: the command line or a setting is wrong; the user fixes it.
 * - JobSpecError, UriError: the user fixes the job spec (or a location given for it).
 * - ModelError: the model cannot be loaded or does not fit the spec.
 * - InputError: the data is bad at file level (unclosed quote, missing column, truncated gzip);
 *   the shard fails without retry. Row-level bad data never throws: it goes to the errors file.
 * - ErrorRateExceededError: the run finished but rejected more rows than the job allows.
 * - TransientError: the network or a service hiccupped; retry with backoff.
 * - PreconditionFailedError: a conditional write lost to another writer; the caller decides.
 * - LockLostError: another worker owns the shard now; this one must not publish.
 * - CancelledError: someone asked the work to stop (Ctrl-C, shutdown).
 * - RunCancelledError: someone cancelled the run attempt; its work stops for good, never retried.
 * - RedisPolicyError: Redis is set up so that it could lose queued runs; the operator fixes it.
 * - AccessError: this process cannot reach an object with its own configuration (credentials
 *   refused, access denied, a local path missing on this machine); another worker may succeed.
 *   A worker hands the job back and stops taking work until its configuration works.
 */
export class NightshiftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends NightshiftError {}

export class JobSpecError extends NightshiftError {
  /** File of the spec, when known, and a dotted field path. */
  readonly file: string | undefined;
  readonly issues: readonly string[];
  constructor(file: string | undefined, issues: readonly string[], options?: { cause?: unknown }) {
    super(`${file ? `${file}: ` : ''}invalid job spec:\n  - ${issues.join('\n  - ')}`, options);
    this.file = file;
    this.issues = issues;
  }
}

/** A location someone wrote (in a spec or a flag) that cannot be used. */
export class UriError extends NightshiftError {}

export interface InputLocation {
  object: string;
  line?: number;
  column?: string;
}

export class InputError extends NightshiftError {
  readonly location: InputLocation;
  /** What is wrong, without the location (the message is `location: reason`). */
  readonly reason: string;
  constructor(location: InputLocation, reason: string, options?: { cause?: unknown }) {
    super(`${formatLocation(location)}: ${reason}`, options);
    this.location = location;
    this.reason = reason;
  }

  /** The same problem, `lines` further down (a byte-range shard counts lines from its start). */
  shifted(lines: number): InputError {
    if (this.location.line === undefined || lines === 0) return this;
    return new InputError({ ...this.location, line: this.location.line + lines }, this.reason, { cause: this.cause });
  }
}

export class ModelError extends NightshiftError {}

export class TransientError extends NightshiftError {}

/**
 * This process's configuration cannot reach `uri` (S3 InvalidAccessKeyId, AccessDenied,
 * SignatureDoesNotMatch, ExpiredToken, no credentials at all; a local path this machine lacks).
 * It says nothing about the run, so a worker hands the job to another worker (a bounded number
 * of times) and marks itself not ready; `uri` is what its self-check probes.
 */
export class AccessError extends NightshiftError {
  readonly uri: string;
  constructor(uri: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.uri = uri;
  }
}

/**
 * A conditional write lost: the object changed (If-Match) or already exists (If-None-Match)
 * since the writer looked. The writer re-reads and decides; nothing was replaced.
 */
export class PreconditionFailedError extends NightshiftError {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

/**
 * The model registry cannot do what was asked: a bad model file, a corrupt record, a missing
 * registry. The user fixes the command or the registry; nothing was changed.
 */
export class RegistryError extends NightshiftError {}

/** A model name, alias or version (or the registry itself) that does not exist. */
export class RegistryNotFoundError extends RegistryError {}

/**
 * An alias move lost a compare-and-swap: someone else moved the alias since it was read.
 * Nothing was changed; `current` is the version the alias points to now.
 */
export class AliasConflictError extends RegistryError {
  constructor(
    message: string,
    readonly current: number | undefined,
  ) {
    super(message);
  }
}

/** A reader asked for a run's output and there is no published (`_SUCCESS`) attempt to read. */
export class NotPublishedError extends NightshiftError {}

/** A newer attempt of the run published (or holds the run) first: this attempt published nothing. */
export class SupersededError extends NightshiftError {}

/** The run finished but rejected more rows than the job allows. */
export class ErrorRateExceededError extends NightshiftError {}

/** This worker no longer owns the shard: whatever it wrote must not become visible. */
export class LockLostError extends NightshiftError {}

/** The work was asked to stop (a signal, a shutdown); nothing it started may publish. */
export class CancelledError extends NightshiftError {}

/**
 * Someone cancelled the run attempt (`nightshift cancel`, POST /runs/:id/cancel): unlike a
 * shutdown's CancelledError, no other worker should pick the work up again, so it is never retried.
 */
export class RunCancelledError extends NightshiftError {}

/** Redis would evict keys (BullMQ loses jobs silently then): the operator must change its policy. */
export class RedisPolicyError extends NightshiftError {}
/** A setting from the environment or command line is wrong (malformed URL, port in use, bad level): fix it, exit 2. */
export class ConfigError extends NightshiftError {}

export function formatLocation(loc: InputLocation): string {
  let s = loc.object;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.column !== undefined) s += ` column "${loc.column}"`;
  return s;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A command does not fit the run's state: approving a run that is not held, or one another
 * person decided on at the same moment. The user looks at the run again; never retried.
 */
export class RunStateError extends NightshiftError {}

/**
 * An error as it crosses a thread boundary (structured clone keeps neither the class nor its
 * fields): `reviveError` rebuilds the same class, so a ModelError in a thread still exits 2.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly location?: InputLocation;
  readonly reason?: string;
  readonly file?: string;
  readonly issues?: readonly string[];
  readonly key?: string;
  readonly current?: number;
  readonly uri?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const base = { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  if (err instanceof InputError) return { ...base, location: err.location, reason: err.reason };
  if (err instanceof PreconditionFailedError) return { ...base, key: err.key };
  if (err instanceof AliasConflictError) return { ...base, ...(err.current !== undefined ? { current: err.current } : {}) };
  if (err instanceof AccessError) return { ...base, uri: err.uri };
  if (err instanceof JobSpecError) return { ...base, ...(err.file !== undefined ? { file: err.file } : {}), issues: err.issues };
  return base;
}

const SIMPLE: Record<string, new (message: string) => NightshiftError> = {
  UsageError,
  UriError,
  ModelError,
  TransientError,
  ErrorRateExceededError,
  LockLostError,
  CancelledError,
  RunCancelledError,
  RedisPolicyError,
  RegistryError,
  RegistryNotFoundError,
  RunStateError,
  ConfigError,
  NotPublishedError,
  SupersededError,
};

export function reviveError(e: SerializedError): Error {
  let err: Error;
  if (e.name === 'InputError' && e.location && e.reason !== undefined) err = new InputError(e.location, e.reason);
  else if (e.name === 'PreconditionFailedError' && e.key !== undefined) err = new PreconditionFailedError(e.key, e.message);
  else if (e.name === 'AliasConflictError') err = new AliasConflictError(e.message, e.current);
  else if (e.name === 'AccessError' && e.uri !== undefined) err = new AccessError(e.uri, e.message);
  else if (e.name === 'JobSpecError' && e.issues) err = new JobSpecError(e.file, e.issues);
  else {
    const Class = SIMPLE[e.name];
    err = Class ? new Class(e.message) : new Error(e.message);
  }
  if (e.stack) err.stack = e.stack;
  return err;
}
