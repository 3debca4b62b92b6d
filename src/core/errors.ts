/**
 * The few error kinds nightshift raises. Each one says what happens next:
 * - JobSpecError: the user fixes the job spec (or the model it names); never retried.
 * - InputError: the data is bad at file level (unclosed quote, missing column, truncated gzip);
 *   the shard fails without retry. Row-level bad data never throws: it goes to the errors file.
 * - ModelError: the model cannot be loaded or does not fit the spec; never retried.
 * - TransientError: the network or a service hiccupped; retry with backoff.
 * - PreconditionFailedError: a conditional write lost to another writer; the caller decides.
 * Mapping to BullMQ outcomes lives in one place (queue/outcomes.ts).
 */
export class NightshiftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

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

export interface InputLocation {
  object: string;
  line?: number;
  column?: string;
}

export class InputError extends NightshiftError {
  readonly location: InputLocation;
  constructor(location: InputLocation, reason: string, options?: { cause?: unknown }) {
    super(`${formatLocation(location)}: ${reason}`, options);
    this.location = location;
  }
}

export class ModelError extends NightshiftError {}

export class TransientError extends NightshiftError {}

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

/** The run finished but rejected more rows than the job allows. */
export class ErrorRateExceededError extends NightshiftError {}

export function formatLocation(loc: InputLocation): string {
  let s = loc.object;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.column !== undefined) s += ` column "${loc.column}"`;
  return s;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
