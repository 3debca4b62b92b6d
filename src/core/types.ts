/**
 * Core types shared by the pipeline stages.
 *
 * Glossary
 * - job:    a YAML spec in jobs/: what to score, with which model, where from, where to, when.
 * - run:    one execution of a job for one logical date (the data's date); its id is
 *           derived from job + date, so triggering it twice is one run.
 * - shard:  one unit of a run that one worker scores: an input object or a byte range of one.
 * - part:   the output object a shard writes (part-00000.csv…).
 * - batch:  the rows passed to one session.run (limits.batchRows), held column-wise.
 * - report: _report.json of a run; _SUCCESS marks a complete, published run.
 *
 * Stages exchange columnar batches, never one object per row, so a faster parser or an
 * inference stage on another thread can be dropped in without touching the others.
 */

export type FeatureArray = Float32Array | Float64Array | BigInt64Array | string[];

/** Rows accepted for scoring, column-wise. */
export interface ColumnarBatch {
  rows: number;
  /** One flat row-major array per model input: rows × width values. */
  readonly features: Map<string, FeatureArray>;
  /** Id column values, one array per id column. */
  readonly ids: string[][];
  /** Passthrough column values, one array per passthrough column. */
  readonly passthrough: string[][];
  /** Source line of each row (1-based, physical line where the record starts). */
  readonly lines: number[];
  /**
   * The same cells as `ids` and `passthrough`, as the bytes they were read as, when the reader
   * kept them (the fast CSV path): a CSV writer copies them without decoding.
   */
  readonly textBytes?: { readonly ids: readonly ByteCells[]; readonly passthrough: readonly ByteCells[] };
}

/** Text cells of one column as UTF-8 bytes (see formats/csv/byte-cells.ts). */
export interface ByteCells {
  /** Cell r is bytes[offsets[r], offsets[r + 1]). */
  readonly bytes: Buffer;
  readonly offsets: Int32Array;
  /** How each cell goes into a CSV part: CSV_AS_IS, CSV_QUOTED, CSV_PREFIXED… (formats/parts/cells.ts). */
  readonly csvModes: Uint8Array;
}

/** One model output, flattened: rows × width values. */
export interface ScoreColumns {
  readonly name: string;
  readonly width: number;
  readonly values: Float32Array | Float64Array | BigInt64Array | Int32Array | string[] | boolean[];
}

/** A row that was not scored, with why. */
export interface RejectedRow {
  readonly line: number;
  readonly column: string | undefined;
  readonly reason: RejectReason;
  readonly detail: string;
  readonly raw: string;
  readonly ids: readonly string[];
}

export type RejectReason =
  | 'field_count'
  | 'invalid_utf8'
  | 'missing_value'
  | 'not_a_number'
  | 'non_finite'
  | 'out_of_range'
  | 'not_an_integer'
  /** JSON Lines: a line that is not JSON, or a JSON value that is not an object. */
  | 'invalid_json'
  | 'not_an_object';

/** What a shard reports when it is done. */
export interface ShardResult {
  readonly shard: string;
  readonly object: string;
  readonly bytes: number;
  readonly rowsRead: number;
  readonly rowsScored: number;
  readonly rowsRejected: number;
  readonly rejectedByReason: Partial<Record<RejectReason, number>>;
  readonly partKey: string | undefined;
  readonly errorsKey: string | undefined;
  /** Size of the part and errors objects as written: finalize checks the store has them so. */
  readonly partBytes?: number | undefined;
  readonly errorsBytes?: number | undefined;
  readonly timings: StageTimings;
  readonly scoreStats: Record<string, ScoreStatsState>;
  /** Profile of the shard's input and score columns (monitor/run-profile.ts), merged at finalize. */
  readonly profile?: ShardProfile | undefined;
  /** The challenger's comparison in this shard, when the job names a challenger. */
  readonly challenger?: ShardChallenger | undefined;
  /** A range of a speculative split (issue #17): what finalize checks the plan and fixes lines with. */
  readonly census?: RangeCensus | undefined;
}

/**
 * What a shard of a speculatively split object saw of its bytes: enough to prove or refute the
 * plan's guess at the next range's start (quote parity adds up over ranges) and to turn its
 * line numbers into the object's (physical lines add up too). Lines it reported (errors file,
 * input error) count from `linesBefore` as the plan gave it.
 */
export interface RangeCensus {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
  readonly linesBefore: number;
  /** The object's columns, as the plan read them (a range scored again needs them). */
  readonly header: readonly string[];
  /** Physical line endings in the range (LF, CRLF, bare CR; inside quoted fields too). */
  readonly lines: number;
  /** An odd number of quote bytes: the range ends in the other quote state than it began. */
  readonly oddQuotes: boolean;
  /**
   * A file-level problem the shard met (its part was not written). Real only if the plan's
   * guess at this range's start holds, which finalize decides.
   */
  readonly inputError?:
    { readonly location: { readonly object: string; readonly line?: number; readonly column?: string }; readonly reason: string } | undefined;
}

/**
 * A shard's profile as it travels (plain JSON; the shape is monitor/run-profile.ts's RunProfile,
 * which core cannot name: it sits below monitor/).
 */
export interface ShardProfile {
  readonly format: string;
}

/**
 * A score column's running summary (report/score-stats.ts computes it). Plain JSON: shards send it
 * to the run's finalize step, which merges them; it lives here because ShardResult carries it.
 */
export interface ScoreStatsState {
  count: number;
  /** Values that were NaN (a model can emit them); not in min/max/mean. */
  nan: number;
  /** null until a value is seen (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  sum: number;
  sample: number[];
  /** Deterministic PRNG state, so identical input gives identical reports. */
  seed: number;
}

/** Milliseconds spent per stage. Read/parse includes fetching and decompressing. */
export interface StageTimings {
  readParseMs: number;
  inferenceMs: number;
  writeMs: number;
}

/**
 * What a shard's challenger (champion/challenger shadow scoring) did: its own status, so a
 * challenger that fails never fails the shard. `columns` are per score column comparison states
 * (report/challenger-comparison.ts, which core cannot name), merged at finalize.
 */
export interface ShardChallenger {
  readonly status: 'compared' | 'failed';
  readonly reason?: string | undefined;
  /** Rows the challenger scored and compared in this shard. */
  readonly rows: number;
  readonly inferenceMs: number;
  /** The challenger's part (`_challenger/part-…`), when it wrote one. */
  readonly partKey?: string | undefined;
  readonly partBytes?: number | undefined;
  readonly columns: Readonly<Record<string, { readonly kind: string }>>;
}
