/**
 * BatchBuilder for the fast CSV path: the same contract and the same results (values, rejected
 * rows, messages), but fed with the scanner's offsets. Float features are parsed from bytes
 * straight into the batch; text is decoded only for the columns that need it (ids, passthrough,
 * int64 and string inputs) and, for a rejected row, for its ids and raw record.
 *
 * Fused input: when the job has one float input and its columns feed nothing else, the scanner
 * writes each float cell straight into this builder's tensor at the cell's slot while it scans
 * (numberTarget(), scanner.ts NumberTarget) and records no offsets for them; add() then only
 * finishes the cells the scanner declined (the record rescanned for their offsets), and skips the
 * input entirely when it declined none (nearly every row).
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnarBatch, FeatureArray, RejectReason, RejectedRow } from '../../core/types.js';
import { FIELD_NUMBER, isEscapedKind, keptSlot, NOT_NUMERIC, NUMBER_TO_VALUES, type NumberTarget, type ScannedRecord } from './scanner.js';
import { parseDecimalFast } from './parse-float.js';
import type { ModelInputSpec } from '../../spec/job-spec.js';
import type { ReaderOptions } from '../../spec/component-options.js';
import { allocateBatch, invalidTextColumn, invalidTextDetail, trimBatch } from '../rows/column-plan.js';
import { ColumnBatcher } from '../rows/column-batcher.js';
import { parseFloatCell, parseInt64Cell } from '../rows/parse-cell.js';
import { ByteCellsBuilder, withByteText } from './byte-cells.js';

/** The bytes of a number the scanner parses while it scans. */
const NUMBER_BYTES = '0123456789.-';

interface InputPlan {
  readonly spec: ModelInputSpec;
  readonly indexes: Int32Array;
}

/** Why a cell was refused, before it becomes a RejectedRow. */
interface CellProblem {
  readonly column: string | undefined;
  readonly reason: RejectReason;
  readonly detail: string;
}

export class FastBatchBuilder extends ColumnBatcher<ScannedRecord> {
  private readonly inputs: InputPlan[];
  /** The current batch's feature arrays, in the order of `inputs` (saves a Map lookup per row). */
  private arrays: FeatureArray[] = [];
  /** The current batch's id and passthrough cells, kept as bytes (byte-cells.ts). */
  private idCells: ByteCellsBuilder[] = [];
  private passCells: ByteCellsBuilder[] = [];
  /** Index in `inputs` of the input the scanner fills itself (see numberTarget), or -1. */
  private readonly fusedInput: number;
  private readonly target: NumberTarget;

  constructor(header: readonly string[], options: ReaderOptions, object: string, headerLine: number) {
    // The same header checks and messages as the general path (ColumnBatcher).
    super(header, options, object, headerLine);
    // Indexes as Int32Array for the hot loop.
    this.inputs = this.plan.inputs.map((p) => ({ spec: p.spec, indexes: Int32Array.from(p.indexes) }));
    const { delimiter, quote } = options.input.csv;
    // The scanner reads [-]digits[.digits] up to the byte after them: a delimiter or quote that
    // such a number may hold would be read as part of it. Then every cell is split first, then
    // parsed (fillFloats).
    const parseWhileScanning = !NUMBER_BYTES.includes(delimiter) && !NUMBER_BYTES.includes(quote);
    this.fusedInput = parseWhileScanning ? fusableInput(this.inputs) : -1;
    this.target = { slots: parseWhileScanning ? this.numberSlots() : new Int32Array(0), array: new Float64Array(0), base: 0 };
    this.batch = this.newBatch();
  }

  /**
   * For the scanner (parseNumbersInto): every field that feeds a float input is parsed while it is
   * scanned; the fused input's go straight into the batch tensor, which this builder moves on.
   */
  numberTarget(): NumberTarget {
    return this.target;
  }

  private numberSlots(): Int32Array {
    const slots = new Int32Array(this.fieldCount).fill(NOT_NUMERIC);
    // A fused column that is also an id or passthrough column: its bytes are copied too.
    const text = new Set([...this.idIndexes, ...this.passIndexes]);
    this.inputs.forEach((input, k) => {
      if (input.spec.dtype !== 'float32' && input.spec.dtype !== 'float64') return;
      input.indexes.forEach((field, j) => (slots[field] = k !== this.fusedInput ? NUMBER_TO_VALUES : text.has(field) ? keptSlot(j) : j));
    });
    return slots;
  }

  add(rec: ScannedRecord): RejectedRow | undefined {
    if (rec.count !== this.fieldCount) {
      return this.reject(rec, { column: undefined, reason: 'field_count', detail: `expected ${this.fieldCount} fields, found ${rec.count}` });
    }
    // The general path's invalid_utf8 rule; an all-ASCII record (nearly every one) cannot break it.
    if (!rec.cleanUtf8 && !isUtf8(rec.buf.subarray(rec.start, rec.end))) {
      if (this.fusedInput >= 0) rec.complete(); // the fused cells' offsets
      const bad = invalidTextColumn(this.plan.used, (i) => !isUtf8(rec.buf.subarray(rec.starts[i], rec.ends[i])));
      if (bad) return this.reject(rec, { column: bad.name, reason: 'invalid_utf8', detail: invalidTextDetail(this.options.input.csv.encoding) });
    }
    const row = this.batch.rows;
    for (let k = 0; k < this.inputs.length; k++) {
      const plan = this.inputs[k] as InputPlan;
      // Fused and every cell parsed by the scanner: the values are in the tensor already.
      if (k === this.fusedInput && rec.fused === plan.indexes.length) continue;
      const arr = this.arrays[k] as FeatureArray;
      // A fused cell was declined: the others' offsets, which the scanner skipped, are needed.
      if (k === this.fusedInput) rec.complete();
      const problem =
        plan.spec.dtype === 'float32' || plan.spec.dtype === 'float64'
          ? fillFloats(plan, rec, arr as Float32Array | Float64Array, row, k === this.fusedInput)
          : fillDecoded(plan, rec, arr as BigInt64Array | string[], row);
      if (problem) return this.reject(rec, problem);
    }
    this.appendRowInfo(rec);
    if (this.fusedInput >= 0) this.target.base += (this.inputs[this.fusedInput] as InputPlan).indexes.length;
    return undefined;
  }

  take(): ColumnarBatch {
    const b = trimBatch(this.batch, this.plan);
    const taken = withByteText(
      b,
      this.idCells.map((c) => c.finish()),
      this.passCells.map((c) => c.finish()),
    );
    this.batch = this.newBatch();
    return taken;
  }

  private appendRowInfo(rec: ScannedRecord): void {
    const b = this.batch;
    for (let k = 0; k < this.idIndexes.length; k++) (this.idCells[k] as ByteCellsBuilder).append(rec, this.idIndexes[k] as number);
    for (let k = 0; k < this.passIndexes.length; k++) (this.passCells[k] as ByteCellsBuilder).append(rec, this.passIndexes[k] as number);
    b.lines.push(rec.line);
    b.rows++;
  }

  private reject(rec: ScannedRecord, p: CellProblem): RejectedRow {
    // Like the general builder: ids from the fields that exist, even when the count is wrong.
    const ids = this.idIndexes.map((i) => (i < rec.count ? rec.text(i) : ''));
    return { line: rec.line, column: p.column, reason: p.reason, detail: p.detail, raw: rec.rawText(), ids };
  }

  private newBatch(): ColumnarBatch {
    const rows = this.batchRows;
    const b = allocateBatch(this.plan, rows);
    this.arrays = this.inputs.map((input) => b.features.get(input.spec.name) as FeatureArray);
    if (this.fusedInput >= 0) {
      this.target.array = this.arrays[this.fusedInput] as Float32Array | Float64Array;
      this.target.base = 0;
    }
    // Plain fields hold none of the CSV part's special bytes only when the input splits on the
    // same ones: a comma delimiter, a " quote, and no quote kept inside unquoted fields.
    const { delimiter, quote, relaxQuotes } = this.options.input.csv;
    const comma = delimiter === ',' && quote === '"' && !relaxQuotes;
    // Room for what the column's previous batch held, and an eighth more: batches of one file
    // hold cells of much the same length, and a smaller buffer is less for the GC to account.
    const room = (prev: ByteCellsBuilder | undefined): number | undefined => (prev ? prev.usedBytes + (prev.usedBytes >> 3) : undefined);
    this.idCells = this.idIndexes.map((_, k) => new ByteCellsBuilder(rows, comma, room(this.idCells[k])));
    this.passCells = this.passIndexes.map((_, k) => new ByteCellsBuilder(rows, comma, room(this.passCells[k])));
    return b;
  }
}

/**
 * The input the scanner may write into directly: the only float input, when none of its columns
 * feeds another input too (a column read twice would need its value twice); -1 if none.
 */
function fusableInput(inputs: readonly InputPlan[]): number {
  const floats = inputs.flatMap((input, k) => (input.spec.dtype === 'float32' || input.spec.dtype === 'float64' ? [k] : []));
  if (floats.length !== 1) return -1;
  const k = floats[0] as number;
  const mine = new Set((inputs[k] as InputPlan).indexes);
  if (mine.size !== (inputs[k] as InputPlan).indexes.length) return -1;
  const shared = inputs.some((input, other) => other !== k && input.indexes.some((i) => mine.has(i)));
  return shared ? -1 : k;
}

/**
 * Float cells the scanner did not put in place: parse each from its bytes; a cell the fast
 * parser declines (escaped, empty, NaN token, long or odd) goes through parseFloatCell, so the
 * outcome is the general one. A Float32Array store rounds exactly like Math.fround. `fused`: a
 * FIELD_NUMBER cell is in the tensor already (else its value is in rec.values); after
 * rec.complete() there are none, and every cell is parsed again to the same value.
 */
function fillFloats(plan: InputPlan, rec: ScannedRecord, arr: Float32Array | Float64Array, row: number, fused: boolean): CellProblem | undefined {
  const { buf, starts, ends, kinds, values } = rec;
  const indexes = plan.indexes;
  const width = indexes.length;
  const base = row * width;
  for (let j = 0; j < width; j++) {
    const col = indexes[j] as number;
    const kind = kinds[col];
    if (kind === FIELD_NUMBER) {
      if (!fused) arr[base + j] = values[col] as number; // parsed by the scanner (parseNumbersInto)
      continue;
    }
    if (!isEscapedKind(kind)) {
      const v = parseDecimalFast(buf, starts[col] as number, ends[col] as number);
      if (v === v) {
        arr[base + j] = v;
        continue;
      }
    }
    const r = parseFloatCell(rec.text(col), plan.spec.dtype === 'float32', plan.spec.missing === 'nan');
    if (!r.ok) return { column: plan.spec.columns[j], reason: r.reason, detail: r.detail };
    arr[base + j] = r.value;
  }
  return undefined;
}

/** int64 and string inputs: decoded text, then the general cell rules. */
function fillDecoded(plan: InputPlan, rec: ScannedRecord, arr: BigInt64Array | string[], row: number): CellProblem | undefined {
  const width = plan.indexes.length;
  for (let j = 0; j < width; j++) {
    const text = rec.text(plan.indexes[j] as number);
    if (Array.isArray(arr)) {
      arr[row * width + j] = text;
      continue;
    }
    const r = parseInt64Cell(text);
    if (!r.ok) return { column: plan.spec.columns[j], reason: r.reason, detail: r.detail };
    arr[row * width + j] = r.value;
  }
  return undefined;
}
