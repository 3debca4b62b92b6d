/**
 * JSON Lines input: one JSON object per line, columns by key. A line that is not JSON
 * (invalid_json) or not an object (not_an_object) is a rejected row naming its line; empty lines
 * are skipped, as CSV skips them. Lines are split on \n (a \r before it is dropped); the input
 * is read as UTF-8 in pieces, never whole.
 *
 * Numbers: JSON.parse reads every number as a double, so an integer beyond 2^53 has already
 * lost digits; such a value in an int64 column is rejected (out_of_range) rather than scored as
 * a different number. Write big integers as strings ("9007199254740993") to keep them.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { InputError } from '../../core/errors.js';
import type { ReaderOptions } from '../../spec/component-options.js';
import type { BatchEvent } from '../rows/batch-queue.js';
import { cellText, usedColumns, valueBatchEvents, type ValueRow } from '../rows/value-records.js';

export function readJsonlBatchEvents(stream: Readable, object: string, spec: ReaderOptions): AsyncGenerator<BatchEvent> {
  const columns = usedColumns(spec);
  const int64 = new Set(spec.model.inputs.filter((i) => i.dtype === 'int64').flatMap((i) => i.columns));
  return valueBatchEvents(jsonlRows(stream, object, columns, int64, spec.limits.maxRecordBytes), columns, spec, object);
}

async function* jsonlRows(
  stream: Readable,
  object: string,
  columns: readonly string[],
  int64: ReadonlySet<string>,
  maxLineBytes: number,
): AsyncGenerator<ValueRow> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        line++;
        const row = toRow(text.slice(start, nl), line, columns, int64);
        if (row) yield row;
        start = nl + 1;
      }
      rest = text.slice(start);
      if (rest.length > maxLineBytes)
        throw new InputError({ object, line: line + 1 }, 'a line is longer than limits.maxRecordBytes (is this JSON Lines, one object per line?)');
    }
  } catch (err) {
    throw toInputError(err, object);
  }
  rest += decoder.end();
  if (rest !== '') {
    const row = toRow(rest, line + 1, columns, int64);
    if (row) yield row;
  }
}

function toRow(text: string, line: number, columns: readonly string[], int64: ReadonlySet<string>): ValueRow | undefined {
  const raw = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (raw.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { line, raw, rejected: { reason: 'invalid_json', detail: `not JSON: ${(err as Error).message}` } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { line, raw, rejected: { reason: 'not_an_object', detail: `expected a JSON object with the columns as keys, found ${kind}` } };
  }
  const obj = value as Record<string, unknown>;
  const fields = columns.map((c) => {
    const v = obj[c];
    // A lost integer must not be scored as another number (see the header comment).
    if (typeof v === 'number' && int64.has(c) && Number.isInteger(v) && !Number.isSafeInteger(v)) return `${cellText(v)} (beyond 2^53: write it as a string)`;
    return cellText(v);
  });
  return { line, raw, fields };
}

function toInputError(err: unknown, object: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new InputError({ object }, `the gzip stream is truncated or corrupt (${code})`, { cause: err });
  }
  return err;
}
