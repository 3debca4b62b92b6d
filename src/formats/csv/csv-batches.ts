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
import { BatchQueue, type BatchEvent } from '../rows/batch-queue.js';
import { gzipInputError } from '../open-input.js';
import { BatchBuilder } from './batch-builder.js';
import { FastBatchBuilder } from './fast-batch-builder.js';
import type { ReaderOptions } from '../../spec/component-options.js';
import { readCsvRecords, type CsvRecord } from './csv-reader.js';
import { CsvScanner, needsGeneralPath, type ScannedRecord } from './scanner.js';

export type { BatchEvent };

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
export function fastPathApplies(spec: ReaderOptions): boolean {
  const { csv } = spec.input;
  return csv.encoding === 'utf8' && isPlainByte(csv.delimiter) && isPlainByte(csv.quote) && csv.delimiter !== csv.quote;
}

function isPlainByte(char: string): boolean {
  const code = char.charCodeAt(0);
  // CR and LF end records and NUL has a csv-parse quirk of its own: leave those to csv-parse.
  return char.length === 1 && code < 0x80 && code !== 0x0a && code !== 0x0d && code !== 0x00;
}

export async function* readBatchEvents(stream: Readable, object: string, spec: ReaderOptions, options: BatchEventOptions = {}): AsyncGenerator<BatchEvent> {
  const { csv } = spec.input;
  const header = options.header ?? (csv.header ? undefined : (csv.columns ?? []));
  const linesBefore = options.linesBefore ?? 0;
  if (!fastPathApplies(spec)) {
    yield* generalEvents(stream, object, spec, header, linesBefore);
    return;
  }
  const input = await peekHead(stream, 3).catch((err: unknown) => {
    throw gzipInputError(err, object);
  });
  if (needsGeneralPath(input.head)) yield* generalEvents(Readable.from(input.chunks, { objectMode: false }), object, spec, header, linesBefore);
  else yield* fastEvents(input.chunks, object, spec, header, linesBefore);
}

/** The general path, as scoreShard runs it: csv-parse records into a BatchBuilder. */
async function* generalEvents(
  stream: Readable,
  object: string,
  spec: ReaderOptions,
  header: readonly string[] | undefined,
  linesBefore: number,
): AsyncGenerator<BatchEvent> {
  const records = shiftLines(readCsvRecords(stream, object, spec.input.csv, spec.limits.maxRecordBytes), linesBefore);
  const queue = new BatchQueue<CsvRecord>(
    (h, line) => new BatchBuilder(h, spec, object, line),
    (rec) => ({ names: rec.fields, line: rec.line }),
    header,
  );
  for await (const rec of records) {
    queue.record(rec);
    if (queue.pending) yield* queue.drain();
  }
  const last = queue.lastBatch();
  if (last) yield last;
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
  spec: ReaderOptions,
  header: readonly string[] | undefined,
  linesBefore: number,
): AsyncGenerator<BatchEvent> {
  const { delimiter, quote, relaxQuotes } = spec.input.csv;
  const scannerOptions = { object, delimiter, quote, relaxQuotes, maxRecordBytes: spec.limits.maxRecordBytes, firstLine: linesBefore + 1 };
  const scanner: CsvScanner = new CsvScanner(scannerOptions, (rec) => queue.record(rec));
  const queue = new BatchQueue<ScannedRecord>(
    (h, line) => {
      const builder = new FastBatchBuilder(h, spec, object, line);
      // Once the columns are known, the scanner parses the numeric ones as it scans.
      scanner.parseNumbersInto(builder.numberTarget());
      return builder;
    },
    (rec) => ({ names: Array.from({ length: rec.count }, (_, i) => rec.text(i)), line: rec.line }),
    header,
  );
  try {
    for await (const chunk of chunks) yield* queue.settle(() => scanner.push(chunk));
    yield* queue.settle(() => scanner.end());
  } catch (err) {
    throw gzipInputError(err, object);
  }
  const last = queue.lastBatch();
  if (last) yield last;
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
