/**
 * The head of one input object: its column names and first rows, read without reading the
 * whole object (a byte range of CSV / JSON Lines, the footer and first rows of Parquet). Used
 * where a person is setting a job up (`validate --date`, `init`), never by a run.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { InputError } from '../core/errors.js';
import type { CsvOptions } from '../spec/job-spec.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readCsvRecords } from './csv/csv-reader.js';
import { openInput } from './open-input.js';
import { readParquetMetadata, readParquetObjects } from './parquet/parquet-input.js';

/** Bytes read from the start of a CSV or JSON Lines object: plenty for a header and a sample. */
const HEAD_BYTES = 1024 * 1024;

export interface SampleSource {
  readonly store: ObjectStore;
  readonly key: string;
  readonly display: string;
  readonly size: number;
}

export interface InputSample {
  /** Column names in file order (CSV header or csv.columns, JSON keys as first seen, Parquet schema). */
  readonly columns: string[];
  /** Up to maxRows rows: cell text, null where missing. */
  readonly rows: Record<string, string | null>[];
}

export interface SampleOptions {
  readonly format: 'csv' | 'jsonl' | 'parquet';
  readonly csv: CsvOptions;
  readonly maxRows: number;
}

export async function sampleInput(src: SampleSource, options: SampleOptions): Promise<InputSample> {
  if (options.format === 'parquet') return sampleParquet(src, options.maxRows);
  // A range read; a gzip object is cut mid-stream too, so the last record read may be partial.
  const truncated = src.size > HEAD_BYTES;
  const range = truncated ? { range: { start: 0, end: HEAD_BYTES - 1 } } : {};
  const input = await openInput(src.store, src.key, src.display, range);
  const rows =
    options.format === 'csv'
      ? await headCsv(input.stream, src.display, options, truncated)
      : await headJsonl(input.stream, src.display, options.maxRows, truncated);
  input.stream.destroy();
  return rows;
}

async function headCsv(stream: Readable, display: string, options: SampleOptions, maybeCut: boolean): Promise<InputSample> {
  const records: string[][] = [];
  const wanted = options.maxRows + (options.csv.header ? 1 : 0);
  let reachedEnd = true;
  try {
    for await (const rec of readCsvRecords(stream, display, options.csv, HEAD_BYTES)) {
      records.push(rec.fields);
      if (records.length >= wanted + 1) {
        reachedEnd = false;
        break;
      }
    }
  } catch (err) {
    // The end of a cut read (an open quote, a truncated gzip) is not the file's fault.
    if (!maybeCut || records.length === 0) throw err;
  }
  // The last record of a cut read may be partial: keep only records with one after them.
  if (maybeCut && reachedEnd && records.length > (options.csv.header ? 1 : 0)) records.pop();
  const header = options.csv.header ? records.shift() : options.csv.columns;
  if (!header) throw new InputError({ object: display }, 'the object is empty: no header row');
  return { columns: [...header], rows: records.slice(0, options.maxRows).map((r) => Object.fromEntries(header.map((c, i) => [c, r[i] ?? null]))) };
}

async function headJsonl(stream: Readable, display: string, maxRows: number, maybeCut: boolean): Promise<InputSample> {
  const columns: string[] = [];
  const rows: Record<string, string | null>[] = [];
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  let pending: string | undefined;
  try {
    for await (const line of lines) {
      lineNo++;
      if (pending !== undefined) rows.push(jsonRow(pending, display, lineNo - 1, columns));
      pending = line.trim() === '' ? undefined : line;
      if (rows.length >= maxRows) break;
    }
  } catch (err) {
    if (!maybeCut) throw err;
  }
  // The last line of a cut read may be partial: only keep it when the object was read whole.
  if (pending !== undefined && !maybeCut && rows.length < maxRows) rows.push(jsonRow(pending, display, lineNo, columns));
  lines.close();
  return { columns, rows };
}

function jsonRow(line: string, display: string, lineNo: number, columns: string[]): Record<string, string | null> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InputError({ object: display, line: lineNo }, 'the line is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError({ object: display, line: lineNo }, 'the line is not a JSON object');
  return cells(value as Record<string, unknown>, columns);
}

async function sampleParquet(src: SampleSource, maxRows: number): Promise<InputSample> {
  const metadata = await readParquetMetadata(src);
  // The root's direct children are the columns a job can name (a nested group's leaves are not).
  const columns: string[] = [];
  const schema = metadata.schema;
  for (let i = 1; i < schema.length;) {
    const e = schema[i];
    if (!e) break;
    columns.push(e.name);
    i += 1 + descendants(schema, i);
  }
  const rows: Record<string, string | null>[] = [];
  if (maxRows > 0) {
    for await (const obj of readParquetObjects(src)) {
      rows.push(cells(obj, columns));
      if (rows.length >= maxRows) break;
    }
  }
  return { columns, rows };
}

/** How many schema elements follow element `i` inside it (depth-first flattened schema). */
function descendants(schema: readonly { num_children?: number | undefined }[], i: number): number {
  let n = 0;
  let j = i + 1;
  for (let left = schema[i]?.num_children ?? 0; left > 0; left--) {
    const inner = 1 + descendants(schema, j);
    n += inner;
    j += inner;
  }
  return n;
}

function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v.toString();
  return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** An object's values as cell text (null for missing); new keys are added to `columns`. */
function cells(obj: Record<string, unknown>, columns: string[]): Record<string, string | null> {
  const row: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!columns.includes(k)) columns.push(k);
    row[k] = cellText(v);
  }
  return row;
}
