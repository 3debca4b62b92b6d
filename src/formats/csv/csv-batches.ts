/**
 * Batch events for the shard loop, from the fast CSV path when it applies, else the general one.
 *
 * `readBatchEvents(stream, object, spec)` replaces `readCsvRecords` + `BatchBuilder` in the shard
 * loop. It yields, in input order:
 *   { kind: 'rejected', row }  a data row that is not scored: write it to the errors file;
 *   { kind: 'batch', batch }   accepted rows: score and write them. A batch holds
 *                              limits.batchRows rows, except the last one of the input, which
 *                              may hold fewer; a batch is never empty.
 * Rows read (header excluded) = Σ batch.rows + the number of 'rejected' events.
 *
 * Backpressure: it is an async generator, so no input is read while the consumer is busy
 * between two events (awaiting inference or a write). The rows of one input chunk are scanned
 * together and their events queued, so memory stays within one chunk's events plus the batch
 * being filled (a batch handed over is the consumer's: the builder starts a new one).
 *
 * Errors: file-level problems throw InputError, as on the general path (same messages, the line
 * where the failing record starts); events from rows before the problem are yielded first. A
 * header missing a column the job needs throws InputError from the builder, as before.
 *
 * Header: the first record, unless `options.header` gives the columns (a byte-range shard, whose
 * header the plan read) or csv.header is false (then csv.columns). `options.linesBefore` shifts
 * every line reported, rows and errors alike, for a range that starts after line 1.
 *
 * Paths: fast (CsvScanner + FastBatchBuilder) when `fastPathApplies(spec)` and the input does not
 * start with a UTF-16 BOM (csv-parse switches to UTF-16 then); otherwise the general path
 * (readCsvRecords + BatchBuilder, as scoreShard runs it). Both give the same events for every
 * input the fast path reads; test/fast-csv.test.ts compares them.
 */
import { Readable } from 'node:stream';
import { InputError } from '../../core/errors.js';
import type { ColumnarBatch, RejectedRow } from '../../core/types.js';
import { BatchBuilder } from './batch-builder.js';
import { FastBatchBuilder } from './fast-batch-builder.js';
import type { JobSpec } from '../../spec/job-spec.js';
import { readCsvRecords, type CsvRecord } from './csv-reader.js';
import { CsvScanner, needsGeneralPath, type ScannedRecord } from './scanner.js';

export type BatchEvent = { readonly kind: 'batch'; readonly batch: ColumnarBatch } | { readonly kind: 'rejected'; readonly row: RejectedRow };

export interface BatchEventOptions {
  /** Column names when the input holds no header row (a byte-range shard). */
  readonly header?: readonly string[];
  /** Physical lines before the input (a byte-range shard); 0 by default. */
  readonly linesBefore?: number;
}

/**
 * UTF-8, and a delimiter and quote that are one plain ASCII byte each. (With or without a header
 * row: the header only decides which record builds the builder, the same on both paths.)
 */
export function fastPathApplies(spec: JobSpec): boolean {
  const { csv } = spec.input;
  return csv.encoding === 'utf8' && isPlainByte(csv.delimiter) && isPlainByte(csv.quote) && csv.delimiter !== csv.quote;
}

function isPlainByte(char: string): boolean {
  const code = char.charCodeAt(0);
  // CR and LF end records and NUL has a csv-parse quirk of its own: leave those to csv-parse.
  return char.length === 1 && code < 0x80 && code !== 0x0a && code !== 0x0d && code !== 0x00;
}

export async function* readBatchEvents(stream: Readable, object: string, spec: JobSpec, options: BatchEventOptions = {}): AsyncGenerator<BatchEvent> {
  const { csv } = spec.input;
  const header = options.header ?? (csv.header ? undefined : (csv.columns ?? []));
  const linesBefore = options.linesBefore ?? 0;
  if (!fastPathApplies(spec)) {
    yield* generalEvents(stream, object, spec, header, linesBefore);
    return;
  }
  const input = await peekHead(stream, 3).catch((err: unknown) => {
    throw streamInputError(err, object);
  });
  if (needsGeneralPath(input.head)) yield* generalEvents(Readable.from(input.chunks, { objectMode: false }), object, spec, header, linesBefore);
  else yield* fastEvents(input.chunks, object, spec, header, linesBefore);
}

/** The general path, as scoreShard runs it: csv-parse records into a BatchBuilder. */
async function* generalEvents(
  stream: Readable,
  object: string,
  spec: JobSpec,
  header: readonly string[] | undefined,
  linesBefore: number,
): AsyncGenerator<BatchEvent> {
  const records = shiftLines(readCsvRecords(stream, object, spec.input.csv, spec.limits.maxRecordBytes), linesBefore);
  let builder = header ? new BatchBuilder(header, spec, object, 0) : undefined;
  for await (const rec of records) {
    if (!builder) {
      builder = new BatchBuilder(rec.fields, spec, object, rec.line);
      continue;
    }
    const rejected = builder.add(rec);
    if (rejected) yield { kind: 'rejected', row: rejected };
    else if (builder.full) yield { kind: 'batch', batch: builder.take() };
  }
  if (builder && builder.rows > 0) yield { kind: 'batch', batch: builder.take() };
}

/** Records of a byte range, and the reader's errors, with lines counted from the object's start. */
async function* shiftLines(records: AsyncGenerator<CsvRecord>, linesBefore: number): AsyncGenerator<CsvRecord> {
  if (linesBefore === 0) {
    yield* records;
    return;
  }
  try {
    for await (const rec of records) yield { ...rec, line: rec.line + linesBefore };
  } catch (err) {
    throw err instanceof InputError ? err.shifted(linesBefore) : err;
  }
}

/** The fast path: bytes → CsvScanner → FastBatchBuilder, one chunk at a time. */
async function* fastEvents(
  chunks: AsyncIterable<Buffer>,
  object: string,
  spec: JobSpec,
  header: readonly string[] | undefined,
  linesBefore: number,
): AsyncGenerator<BatchEvent> {
  const { delimiter, quote, relaxQuotes } = spec.input.csv;
  const scannerOptions = { object, delimiter, quote, relaxQuotes, maxRecordBytes: spec.limits.maxRecordBytes, firstLine: linesBefore + 1 };
  const scanner: CsvScanner = new CsvScanner(scannerOptions, (rec) => sink.record(rec));
  const sink = new EventSink(spec, object, header, (builder) => scanner.parseNumbersIn(builder.numericColumns()));
  try {
    for await (const chunk of chunks) yield* sink.settle(() => scanner.push(chunk));
    yield* sink.settle(() => scanner.end());
  } catch (err) {
    throw streamInputError(err, object);
  }
  const last = sink.lastBatch();
  if (last) yield last;
}

/** Turns scanned records into queued events; without given columns the first record is the header. */
class EventSink {
  private builder: FastBatchBuilder | undefined;
  private queue: BatchEvent[] = [];

  constructor(
    private readonly spec: JobSpec,
    private readonly object: string,
    header: readonly string[] | undefined,
    /** Called once the builder exists, i.e. once the columns are known. */
    private readonly onBuilder: (builder: FastBatchBuilder) => void,
  ) {
    if (header) this.setBuilder(new FastBatchBuilder(header, spec, object, 0));
  }

  record(rec: ScannedRecord): void {
    if (!this.builder) {
      const header = Array.from({ length: rec.count }, (_, i) => rec.text(i));
      this.setBuilder(new FastBatchBuilder(header, this.spec, this.object, rec.line));
      return;
    }
    const rejected = this.builder.add(rec);
    if (rejected) this.queue.push({ kind: 'rejected', row: rejected });
    else if (this.builder.full) this.queue.push({ kind: 'batch', batch: this.builder.take() });
  }

  private setBuilder(builder: FastBatchBuilder): void {
    this.builder = builder;
    this.onBuilder(builder);
  }

  /** Runs one scanner step, then hands out its events, then rethrows what the step threw. */
  *settle(step: () => void): Generator<BatchEvent> {
    let failure: { error: unknown } | undefined;
    try {
      step();
    } catch (error) {
      failure = { error };
    }
    const events = this.queue;
    this.queue = [];
    yield* events;
    if (failure) throw failure.error;
  }

  lastBatch(): BatchEvent | undefined {
    return this.builder && this.builder.rows > 0 ? { kind: 'batch', batch: this.builder.take() } : undefined;
  }
}

/** Reads at least `bytes` bytes (unless the stream is shorter) without losing them. */
async function peekHead(stream: Readable, bytes: number): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else {
      first.push(r.value);
      size += r.value.length;
    }
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* first;
      for (let r = done ? undefined : await it.next(); r && !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  return { head: Buffer.concat(first), chunks: replay() };
}

/** A broken gzip stream is bad input, worded like the general path (csv-reader.ts) words it. */
function streamInputError(err: unknown, object: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new InputError({ object }, `the gzip stream is truncated or corrupt (${code})`, { cause: err });
  }
  return err;
}
