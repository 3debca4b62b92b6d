/**
 * Formats scored rows into the bytes of a part: CSV or JSON Lines. A whole batch becomes one
 * Buffer, written cell by cell (byte-writer.ts), so writing costs one stream write per batch and
 * no per-row strings. The bytes are exactly those of the cell texts in cells.ts.
 */
import type { ByteCells, ColumnarBatch, RejectedRow, ScoreColumns } from '../../core/types.js';
import type { PartOptions } from '../../spec/component-options.js';
import { ByteWriter, MAX_EXACT_DECIMALS, MAX_NUMBER_BYTES } from './byte-writer.js';
import { parquetEncoder } from './parquet-part.js';
import type { PartEncoder } from './part-encoder.js';
import { CSV_AS_IS, CSV_PREFIXED, CSV_PREFIXED_QUOTED, CSV_QUOTED, csvText, formatNumber } from './cells.js';

export interface PartFormat {
  readonly extension: string;
  readonly contentType: string;
  header(): string;
  /** A new Buffer per call: it is handed to a stream and never reused. */
  rows(batch: ColumnarBatch, scores: ScoreColumns[]): Buffer;
  /** The encoder of one part: text formats are stateless; Parquet gathers row groups and ends with a footer. */
  newPart(): PartEncoder;
}

export function partFormat(spec: PartOptions): PartFormat {
  if (spec.output.format === 'parquet') {
    return {
      extension: 'parquet',
      contentType: 'application/vnd.apache.parquet',
      header: () => '',
      rows: () => {
        throw new Error('Parquet parts are written through newPart()');
      },
      newPart: () => parquetEncoder(spec),
    };
  }
  const format = spec.output.format === 'jsonl' ? jsonlFormat(spec) : csvFormat(spec);
  return { ...format, newPart: () => ({ header: format.header, rows: format.rows, end: () => '' }) };
}

const TEXT = 0;
const FLOAT32 = 1;
const FLOAT64 = 2;
const INT32 = 3;
const BIGINT64 = 4;
const LABEL = 5;
/** A text cell kept as bytes (ColumnarBatch.textBytes): copied as it is where it may be. */
const TEXT_BYTES = 6;

/** One output cell of every row: where its values are and the bytes written before it. */
interface CellPlan {
  readonly kind: number;
  readonly values: ScoreColumns['values'] | ByteCells;
  /** values[row × stride + offset] is the cell of a row. */
  readonly stride: number;
  readonly offset: number;
  /** The separator, and for JSON Lines the key. */
  readonly prefix: Uint8Array;
}

interface RowPlan {
  readonly cells: CellPlan[];
  readonly rowStart: Uint8Array;
  readonly rowEnd: Uint8Array;
  readonly json: boolean;
  readonly decimals: number | undefined;
}

const ascii = (text: string): Uint8Array => Buffer.from(text, 'utf8');

function csvFormat(spec: PartOptions): Omit<PartFormat, 'newPart'> {
  const names = [...spec.input.id, ...spec.input.passthrough, ...spec.model.outputs.flatMap((o) => o.columns)];
  const prefix = (k: number): Uint8Array => ascii(k === 0 ? '' : ',');
  return {
    extension: 'csv',
    contentType: 'text/csv',
    header: () => `${names.map((n) => csvText(n)).join(',')}\n`,
    rows: (batch, scores) =>
      writeRows(batch, {
        cells: planCells(batch, scores, prefix, true),
        rowStart: ascii(''),
        rowEnd: ascii('\n'),
        json: false,
        decimals: spec.output.decimals,
      }),
  };
}

function jsonlFormat(spec: PartOptions): Omit<PartFormat, 'newPart'> {
  const names = [...spec.input.id, ...spec.input.passthrough, ...spec.model.outputs.flatMap((o) => o.columns)];
  // More score columns than names (a spec that does not match its model) print undefined keys, as they always did.
  const prefix = (k: number): Uint8Array => ascii(`${k === 0 ? '' : ','}${k < names.length ? JSON.stringify(names[k]) : 'undefined'}:`);
  return {
    extension: 'jsonl',
    contentType: 'application/x-ndjson',
    header: () => '',
    rows: (batch, scores) =>
      writeRows(batch, {
        cells: planCells(batch, scores, prefix, false),
        rowStart: ascii('{'),
        rowEnd: ascii('}\n'),
        json: true,
        decimals: spec.output.decimals,
      }),
  };
}

/** Text columns first (ids, passthrough), then every column of every score output. */
function planCells(batch: ColumnarBatch, scores: ScoreColumns[], prefix: (cell: number) => Uint8Array, csv: boolean): CellPlan[] {
  const cells: CellPlan[] = [];
  const bytes = csv ? batch.textBytes : undefined;
  if (bytes)
    for (const col of [...bytes.ids, ...bytes.passthrough]) cells.push({ kind: TEXT_BYTES, values: col, stride: 1, offset: 0, prefix: prefix(cells.length) });
  else for (const col of [...batch.ids, ...batch.passthrough]) cells.push({ kind: TEXT, values: col, stride: 1, offset: 0, prefix: prefix(cells.length) });
  for (const s of scores) {
    const kind = scoreKind(s);
    for (let j = 0; j < s.width; j++) cells.push({ kind, values: s.values, stride: s.width, offset: j, prefix: prefix(cells.length) });
  }
  return cells;
}

function scoreKind(s: ScoreColumns): number {
  const v = s.values;
  if (v instanceof Float32Array) return FLOAT32;
  if (v instanceof Float64Array) return FLOAT64;
  if (v instanceof Int32Array) return INT32;
  if (v instanceof BigInt64Array) return BIGINT64;
  if (Array.isArray(v)) return LABEL;
  throw new Error(`unsupported output tensor type for "${s.name}"`);
}

function writeRows(batch: ColumnarBatch, plan: RowPlan): Buffer {
  const w = new ByteWriter(estimateBytes(batch.rows, plan));
  writeEachRow(w, batch.rows, plan);
  return w.bytes();
}

/**
 * The row loop, a function of its own: with the loop inside writeRows, V8 optimised writeRows
 * on the stack (OSR) during a batch and that code lacked feedback for what follows the loop, so
 * it deoptimised at the end of every batch and the next one started in the interpreter again
 * (`node --trace-deopt`: writeRows 80 times in a 1M-row run). A loop that is a whole function is
 * optimised as a function and stays so.
 */
function writeEachRow(w: ByteWriter, rows: number, plan: RowPlan): void {
  const { cells, rowStart, rowEnd } = plan;
  const n = cells.length;
  for (let r = 0; r < rows; r++) {
    if (rowStart.length > 0) w.raw(rowStart);
    for (let k = 0; k < n; k++) {
      const cell = cells[k] as CellPlan;
      if (cell.prefix.length > 0) w.raw(cell.prefix);
      writeCell(w, cell, r, plan);
    }
    w.raw(rowEnd);
  }
}

function writeCell(w: ByteWriter, cell: CellPlan, row: number, plan: RowPlan): void {
  const i = row * cell.stride + cell.offset;
  switch (cell.kind) {
    case TEXT_BYTES: {
      const { bytes, offsets, csvModes } = cell.values as ByteCells;
      const start = offsets[i] as number;
      const end = offsets[i + 1] as number;
      const mode = csvModes[i];
      if (mode === CSV_AS_IS) w.copy(bytes, start, end);
      else w.csvCell(bytes, start, end, mode === CSV_PREFIXED || mode === CSV_PREFIXED_QUOTED, mode === CSV_QUOTED || mode === CSV_PREFIXED_QUOTED);
      return;
    }
    case TEXT: {
      const text = (cell.values as string[])[i] as string;
      if (plan.json) w.jsonText(text);
      else w.csvText(text);
      return;
    }
    case FLOAT32: {
      const x = (cell.values as Float32Array)[i] as number;
      const decimals = plan.decimals;
      if (x - x !== 0) writeFloat(w, x, true, plan);
      else if (decimals === undefined) w.float32(x);
      else if (decimals <= MAX_EXACT_DECIMALS) w.fixedFloat32(x, decimals);
      else writeFloat(w, x, true, plan);
      return;
    }
    case FLOAT64:
      writeFloat(w, (cell.values as Float64Array)[i] as number, false, plan);
      return;
    case INT32:
      w.integer((cell.values as Int32Array)[i] as number);
      return;
    case BIGINT64:
      w.ascii(String((cell.values as BigInt64Array)[i]));
      return;
    default: {
      // A string or boolean output (a label).
      const x = (cell.values as string[] | boolean[])[i];
      if (!plan.json) w.csvText(String(x));
      else if (typeof x === 'string') w.jsonText(x);
      else w.ascii(x ? 'true' : 'false');
    }
  }
}

/** The less common float cells: formatNumber's text (JSON has no NaN or Infinity). */
function writeFloat(w: ByteWriter, x: number, float32: boolean, plan: RowPlan): void {
  w.ascii(plan.json && !Number.isFinite(x) ? 'null' : formatNumber(x, float32, plan.decimals));
}

/** Enough for most batches in one allocation: exact for ASCII text, typical widths for numbers. */
function estimateBytes(rows: number, plan: RowPlan): number {
  let bytes = MAX_NUMBER_BYTES + rows * (plan.rowStart.length + plan.rowEnd.length);
  for (const cell of plan.cells) {
    bytes += rows * cell.prefix.length;
    if (cell.kind === TEXT_BYTES) {
      bytes += (cell.values as ByteCells).bytes.length + 2 * rows;
    } else if (cell.kind === TEXT || cell.kind === LABEL) {
      for (let r = 0; r < rows; r++) bytes += String((cell.values as string[])[r * cell.stride + cell.offset]).length + 2;
    } else {
      bytes += rows * (plan.decimals !== undefined ? plan.decimals + 22 : cell.kind === FLOAT32 ? 12 : 24);
    }
  }
  return bytes;
}

export const ERRORS_HEADER = 'source,line,column,reason,detail,id,record\n';

/** One line of the errors file; every text cell is neutralised (raw records are untrusted). */
export function errorLine(source: string, r: RejectedRow): string {
  return `${[source, String(r.line), r.column ?? '', r.reason, r.detail, r.ids.join('|'), r.raw].map((t) => csvText(t)).join(',')}\n`;
}
