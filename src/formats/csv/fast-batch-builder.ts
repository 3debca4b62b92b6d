/**
 * BatchBuilder for the fast CSV path: the same contract and the same results (values, rejected
 * rows, messages), but fed with the scanner's offsets. Float features are parsed from bytes
 * straight into the batch; text is decoded only for the columns that need it (ids, passthrough,
 * int64 and string inputs) and, for a rejected row, for its ids and raw record.
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnarBatch, FeatureArray, RejectReason, RejectedRow } from '../../core/types.js';
import { FIELD_NUMBER, isEscapedKind, type ScannedRecord } from './scanner.js';
import { parseDecimalFast } from './parse-float.js';
import type { JobSpec, ModelInputSpec } from '../../spec/job-spec.js';
import { allocateBatch, invalidTextColumn, invalidTextDetail, planColumns, trimBatch, type ColumnPlan } from '../rows/column-plan.js';
import { parseFloatCell, parseInt64Cell } from '../rows/parse-cell.js';
import { ByteCellsBuilder, withByteText } from './byte-cells.js';

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

export class FastBatchBuilder {
  private readonly plan: ColumnPlan;
  private readonly inputs: InputPlan[];
  private readonly idIndexes: number[];
  private readonly passIndexes: number[];
  private readonly fieldCount: number;
  private batch: ColumnarBatch;
  /** The current batch's feature arrays, in the order of `inputs` (saves a Map lookup per row). */
  private arrays: FeatureArray[] = [];
  /** The current batch's id and passthrough cells, kept as bytes (byte-cells.ts). */
  private idCells: ByteCellsBuilder[] = [];
  private passCells: ByteCellsBuilder[] = [];

  constructor(
    header: readonly string[],
    private readonly spec: JobSpec,
    object: string,
    headerLine: number,
  ) {
    // The same header checks and messages as the general path; indexes as Int32Array for the hot loop.
    this.plan = planColumns(header, spec, object, headerLine);
    this.fieldCount = this.plan.fieldCount;
    this.inputs = this.plan.inputs.map((p) => ({ spec: p.spec, indexes: Int32Array.from(p.indexes) }));
    this.idIndexes = this.plan.idIndexes;
    this.passIndexes = this.plan.passIndexes;
    this.batch = this.newBatch();
  }

  /** 1 for each field that feeds a float input: the scanner parses those while it scans. */
  numericColumns(): Uint8Array {
    const mask = new Uint8Array(this.fieldCount);
    for (const input of this.inputs) {
      if (input.spec.dtype === 'float32' || input.spec.dtype === 'float64') for (const i of input.indexes) mask[i] = 1;
    }
    return mask;
  }

  get rows(): number {
    return this.batch.rows;
  }

  get full(): boolean {
    return this.batch.rows >= this.spec.limits.batchRows;
  }

  /** Adds a record; returns why it was rejected, or undefined when accepted. */
  add(rec: ScannedRecord): RejectedRow | undefined {
    if (rec.count !== this.fieldCount) {
      return this.reject(rec, { column: undefined, reason: 'field_count', detail: `expected ${this.fieldCount} fields, found ${rec.count}` });
    }
    // The general path's invalid_utf8 rule; an all-ASCII record (nearly every one) cannot break it.
    if (!rec.cleanUtf8 && !isUtf8(rec.buf.subarray(rec.start, rec.end))) {
      const bad = invalidTextColumn(this.plan.used, (i) => !isUtf8(rec.buf.subarray(rec.starts[i], rec.ends[i])));
      if (bad) return this.reject(rec, { column: bad.name, reason: 'invalid_utf8', detail: invalidTextDetail(this.spec.input.csv.encoding) });
    }
    const row = this.batch.rows;
    for (let k = 0; k < this.inputs.length; k++) {
      const plan = this.inputs[k] as InputPlan;
      const arr = this.arrays[k] as FeatureArray;
      const problem =
        plan.spec.dtype === 'float32' || plan.spec.dtype === 'float64'
          ? fillFloats(plan, rec, arr as Float32Array | Float64Array, row)
          : fillDecoded(plan, rec, arr as BigInt64Array | string[], row);
      if (problem) return this.reject(rec, problem);
    }
    this.appendRowInfo(rec);
    return undefined;
  }

  /** Hands over the current batch and starts a new one (the old one may still be in flight). */
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
    const rows = this.spec.limits.batchRows;
    const b = allocateBatch(this.plan, rows);
    this.arrays = this.inputs.map((input) => b.features.get(input.spec.name) as FeatureArray);
    // Plain fields hold none of the CSV part's special bytes only when the input splits on the
    // same ones: a comma delimiter, a " quote, and no quote kept inside unquoted fields.
    const { delimiter, quote, relaxQuotes } = this.spec.input.csv;
    const comma = delimiter === ',' && quote === '"' && !relaxQuotes;
    this.idCells = this.idIndexes.map(() => new ByteCellsBuilder(rows, comma));
    this.passCells = this.passIndexes.map(() => new ByteCellsBuilder(rows, comma));
    return b;
  }
}

/**
 * The hot loop: parse each float cell from its bytes; a cell the fast parser declines (escaped,
 * empty, NaN token, long or odd) goes through parseFloatCell, so the outcome is the general one.
 * A Float32Array store rounds exactly like Math.fround.
 */
function fillFloats(plan: InputPlan, rec: ScannedRecord, arr: Float32Array | Float64Array, row: number): CellProblem | undefined {
  const { buf, starts, ends, kinds, values } = rec;
  const indexes = plan.indexes;
  const width = indexes.length;
  const base = row * width;
  for (let j = 0; j < width; j++) {
    const col = indexes[j] as number;
    const kind = kinds[col];
    if (kind === FIELD_NUMBER) {
      arr[base + j] = values[col] as number; // parsed by the scanner (parseNumbersIn)
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

