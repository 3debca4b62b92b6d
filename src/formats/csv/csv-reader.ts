/**
 * The general CSV path: csv-parse, record by record, with the physical line where each
 * record starts. File-level problems (unclosed quote, oversized record) become InputErrors
 * naming the object, line and column; field-count problems are left to the row validator
 * so one bad row does not fail the file.
 */
import { parse, CsvError, type InfoRecord, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { InputError } from '../../core/errors.js';
import type { CsvOptions } from '../../spec/job-spec.js';
import { gzipInputError } from '../open-input.js';
import { csvReason } from './csv-messages.js';
import { holdsLoneSurrogate, InvalidBytesWatch } from './invalid-bytes.js';
import { sliceChunks } from './slice-chunks.js';

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based physical line where the record starts. */
  readonly line: number;
  /** The record as it appeared in the file (without its line ending). */
  readonly raw: string;
  /** Indexes of the fields whose bytes are not valid in the input's encoding (none: undefined). */
  readonly invalidFields?: readonly number[];
}

export async function* readCsvRecords(stream: Readable, object: string, csv: CsvOptions, maxRecordBytes: number): AsyncGenerator<CsvRecord> {
  // csv-parse's info.lines is where a record ends, but it counts a CRLF inside a quoted field as
  // two lines; and on an error it points where parsing stopped (the end of the file, for an
  // unclosed quote). So start lines are derived here, as records are parsed (on_record runs
  // inside the parser, ahead of the consumer), from the line breaks in the fields. on_record
  // gets the record's info as its context, so `info: true` (a second copy per record) is off.
  const pos: ParsePosition = { crlfInQuotes: 0, lastEnd: 0, lastEmpty: 0, lastByte: 0 };
  const watch = csv.encoding === 'utf8' ? new InvalidBytesWatch() : undefined;
  const toRecord = (item: ParsedItem, info: InfoRecord): CsvRecord => {
    let breaks = 0;
    for (const f of item.record) {
      breaks += countMatches(f, LINE_BREAK);
      pos.crlfInQuotes += countMatches(f, CRLF);
    }
    const line = info.lines - pos.crlfInQuotes - breaks;
    pos.lastEnd = line + breaks;
    pos.lastEmpty = info.empty_lines;
    const raw = item.raw.replace(/^[\r\n]+|[\r\n]+$/g, '');
    const invalidFields = watch ? findInvalidFields(watch, pos.lastByte, info.bytes, item.record, csv) : undefined;
    pos.lastByte = info.bytes;
    return invalidFields ? { fields: item.record, line, raw, invalidFields } : { fields: item.record, line, raw };
  };
  const options: Options<CsvRecord, ParsedItem> = {
    bom: true,
    delimiter: csv.delimiter,
    quote: csv.quote,
    escape: csv.quote,
    relax_quotes: csv.relaxQuotes,
    encoding: csv.encoding,
    // Mixed line endings are common in concatenated exports; accept all three.
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: maxRecordBytes,
    raw: true,
    on_record: toRecord,
  };
  // parse()'s overloads only type string[] records when there is no `columns` option.
  const parser = parse(options as unknown as Options);
  const input = watch ? stream.pipe(watch.stream()) : stream;
  const pieces = input.pipe(sliceChunks());
  pieces.pipe(parser);
  stream.on('error', (err) => parser.destroy(err));
  if (input !== stream) input.on('error', (err) => parser.destroy(err));
  try {
    for await (const rec of parser as AsyncIterable<CsvRecord>) yield rec;
  } catch (err) {
    throw toInputError(err, object, pos);
  } finally {
    parser.destroy();
    pieces.destroy();
  }
}

/** What csv-parse hands on_record with `raw` on. */
interface ParsedItem {
  readonly record: string[];
  readonly raw: string;
}

/**
 * UTF-8 input: the fields of a record whose bytes [start, end) hold an invalid sequence, found
 * by splitting those bytes again undecoded; UTF-16 input (its BOM): fields with a lone surrogate.
 */
function findInvalidFields(watch: InvalidBytesWatch, start: number, end: number, fields: readonly string[], csv: CsvOptions): number[] | undefined {
  if (watch.utf16) {
    const bad = fields.flatMap((f, i) => (holdsLoneSurrogate(f) ? [i] : []));
    return bad.length > 0 ? bad : undefined;
  }
  if (!watch.holdsInvalid(start, end)) return undefined;
  const records = parseSync(watch.bytes(start, end), {
    delimiter: csv.delimiter,
    quote: csv.quote,
    escape: csv.quote,
    relax_quotes: csv.relaxQuotes,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    encoding: null,
    bom: false,
  }) as unknown as Buffer[][];
  const bytes = records[0] ?? [];
  const bad = bytes.flatMap((f, i) => (isUtf8(f) ? [] : [i]));
  return bad.length > 0 ? bad : undefined;
}

interface ParsePosition {
  /** Byte offset where the last record (its line ending included) ended. */
  lastByte: number;
  /** CRLFs seen inside quoted fields: csv-parse counted each as two lines. */
  crlfInQuotes: number;
  /** Physical line where the last record ended (0 before the first). */
  lastEnd: number;
  /** csv-parse's count of skipped empty lines at that record. */
  lastEmpty: number;
}

const LINE_BREAK = /\r\n|\r|\n/g;
const CRLF = /\r\n/g;

function countMatches(text: string, re: RegExp): number {
  if (!text.includes('\n') && !text.includes('\r')) return 0;
  return text.match(re)?.length ?? 0;
}

/** Line where the failing record starts: after the last good record and any empty lines. */
function failedRecordLine(e: { lines?: number; empty_lines?: number }, pos: ParsePosition): number | undefined {
  if (typeof e.empty_lines === 'number') return pos.lastEnd + 1 + (e.empty_lines - pos.lastEmpty);
  return e.lines;
}

function toInputError(err: unknown, object: string, pos: ParsePosition): unknown {
  if (err instanceof CsvError) {
    const e = err as CsvError & { lines?: number; empty_lines?: number; column?: number };
    const line = failedRecordLine(e, pos);
    return new InputError({ object, ...(line !== undefined ? { line } : {}) }, csvReason(e.code, e.message), { cause: err });
  }
  return gzipInputError(err, object);
}
