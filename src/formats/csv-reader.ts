/**
 * The general CSV path: csv-parse, record by record, with the physical line where each
 * record starts. File-level problems (unclosed quote, oversized record) become InputErrors
 * naming the object, line and column; field-count problems are left to the row validator
 * so one bad row does not fail the file.
 */
import { parse, CsvError } from 'csv-parse';
import type { Readable } from 'node:stream';
import { InputError } from '../core/errors.js';
import type { CsvOptions } from '../spec/job-spec.js';

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based physical line where the record starts. */
  readonly line: number;
  /** The record as it appeared in the file (without its line ending). */
  readonly raw: string;
}

export async function* readCsvRecords(
  stream: Readable,
  object: string,
  csv: CsvOptions,
  maxRecordBytes: number,
): AsyncGenerator<CsvRecord> {
  const parser = stream.pipe(
    parse({
      bom: true,
      delimiter: csv.delimiter,
      quote: csv.quote,
      escape: csv.quote,
      encoding: csv.encoding,
      // Mixed line endings are common in concatenated exports; accept all three.
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: maxRecordBytes,
      raw: true,
      info: true,
    }),
  );
  stream.on('error', (err) => parser.destroy(err));
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
      let newlines = 0;
      for (const f of item.record) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) newlines++;
      yield { fields: item.record, line: item.info.lines - newlines, raw: item.raw.replace(/^[\r\n]+|[\r\n]+$/g, '') };
    }
  } catch (err) {
    throw toInputError(err, object);
  } finally {
    parser.destroy();
  }
}

function toInputError(err: unknown, object: string): unknown {
  if (err instanceof CsvError) {
    const e = err as CsvError & { lines?: number; column?: number };
    const reasons: Record<string, string> = {
      CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (unclosed quote); the rest of the file cannot be read',
      CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by other characters (malformed quoting)',
      CSV_MAX_RECORD_SIZE: 'a record is longer than limits.maxRecordBytes (often an unclosed quote, or the wrong delimiter)',
      CSV_INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
    };
    const reason = reasons[e.code] ?? e.message;
    return new InputError({ object, ...(e.lines !== undefined ? { line: e.lines } : {}) }, `${reason} [${e.code}]`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new InputError({ object }, `the gzip stream is truncated or corrupt (${code})`, { cause: err });
  }
  return err;
}
