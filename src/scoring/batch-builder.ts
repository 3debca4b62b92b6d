/**
 * Validates records against the job's column mapping and packs accepted rows into a
 * ColumnarBatch. A row with any bad cell is rejected whole, with the first problem found.
 */
import { InputError } from '../core/errors.js';
import type { ColumnarBatch, FeatureArray, RejectedRow } from '../core/types.js';
import type { JobSpec, ModelInputSpec } from '../spec/job-spec.js';
import type { CsvRecord } from '../formats/csv-reader.js';
import { parseFloatCell, parseInt64Cell, type CellResult } from './parse-cell.js';

interface InputPlan {
  readonly spec: ModelInputSpec;
  readonly indexes: number[];
}

/** A column the job reads: an id, a model input or a passthrough column. */
export interface UsedColumn {
  readonly index: number;
  readonly name: string;
}

/**
 * Bytes that are not valid in the input's encoding decode to U+FFFD. Scoring or copying that
 * text would silently change features, ids and passthrough values, so such a row is rejected
 * (reason invalid_utf8), naming the first used column that holds one; unused columns do not
 * matter. A U+FFFD written in the file as such counts too: it is the mark of an earlier broken
 * conversion. The fast path applies the same rule (FastBatchBuilder).
 */
export function invalidTextColumn(used: readonly UsedColumn[], text: (index: number) => string): UsedColumn | undefined {
  for (const c of used) if (text(c.index).includes('\uFFFD')) return c;
  return undefined;
}

export function invalidTextDetail(encoding: string): string {
  return `the cell holds bytes that are not valid ${encoding} (decoded as U+FFFD); is input.csv.encoding right?`;
}

export class BatchBuilder {
  /** Columns the job reads, in the order rows are checked: ids, model inputs, passthrough. */
  readonly used: readonly UsedColumn[];
  private readonly inputs: InputPlan[];
  private readonly idIndexes: number[];
  private readonly passIndexes: number[];
  private readonly fieldCount: number;
  private batch: ColumnarBatch;

  constructor(
    header: readonly string[],
    private readonly spec: JobSpec,
    private readonly object: string,
    private readonly headerLine: number,
  ) {
    this.fieldCount = header.length;
    const index = columnIndex(header, object, headerLine);
    const resolve = (cols: readonly string[]): number[] => cols.map((c) => index(c));
    this.inputs = spec.model.inputs.map((s) => ({ spec: s, indexes: resolve(s.columns) }));
    this.idIndexes = resolve(spec.input.id);
    this.passIndexes = resolve(spec.input.passthrough);
    // By position: one column may be both an id and a feature.
    const used = new Map<number, string>();
    for (const c of [...spec.input.id, ...spec.model.inputs.flatMap((i) => i.columns), ...spec.input.passthrough]) {
      const i = index(c);
      if (!used.has(i)) used.set(i, c);
    }
    this.used = [...used].map(([i, name]) => ({ index: i, name }));
    this.batch = this.newBatch();
  }

  get rows(): number {
    return this.batch.rows;
  }

  get full(): boolean {
    return this.batch.rows >= this.spec.limits.batchRows;
  }

  /** Adds a record; returns why it was rejected, or undefined when accepted. */
  add(rec: CsvRecord): RejectedRow | undefined {
    const f = rec.fields;
    const ids = this.idIndexes.map((i) => f[i] ?? '');
    if (f.length !== this.fieldCount) {
      return { line: rec.line, column: undefined, reason: 'field_count', detail: `expected ${this.fieldCount} fields, found ${f.length}`, raw: rec.raw, ids };
    }
    if (rec.raw.includes('\uFFFD')) {
      const bad = invalidTextColumn(this.used, (i) => f[i] as string);
      if (bad) return { line: rec.line, column: bad.name, reason: 'invalid_utf8', detail: invalidTextDetail(this.spec.input.csv.encoding), raw: rec.raw, ids };
    }
    const b = this.batch;
    const row = b.rows;
    for (const plan of this.inputs) {
      const arr = b.features.get(plan.spec.name) as FeatureArray;
      const width = plan.indexes.length;
      for (let j = 0; j < width; j++) {
        const col = plan.indexes[j] as number;
        const text = f[col] as string;
        const res = this.parse(plan.spec, text, arr, row * width + j);
        if (!res.ok) return { line: rec.line, column: plan.spec.columns[j], reason: res.reason, detail: res.detail, raw: rec.raw, ids };
      }
    }
    for (let k = 0; k < ids.length; k++) (b.ids[k] as string[]).push(ids[k] as string);
    for (let k = 0; k < this.passIndexes.length; k++) (b.passthrough[k] as string[]).push(f[this.passIndexes[k] as number] as string);
    b.lines.push(rec.line);
    b.rows++;
    return undefined;
  }

  /** Hands over the current batch and starts a new one (the old one may still be in flight). */
  take(): ColumnarBatch {
    const b = this.batch;
    this.batch = this.newBatch();
    for (const plan of this.inputs) {
      const arr = b.features.get(plan.spec.name) as FeatureArray;
      const n = b.rows * plan.indexes.length;
      b.features.set(plan.spec.name, Array.isArray(arr) ? arr.slice(0, n) : arr.subarray(0, n));
    }
    return b;
  }

  private parse(spec: ModelInputSpec, text: string, arr: FeatureArray, at: number): CellResult<unknown> {
    switch (spec.dtype) {
      case 'float32':
      case 'float64': {
        const r = parseFloatCell(text, spec.dtype === 'float32', spec.missing === 'nan');
        if (r.ok) (arr as Float32Array | Float64Array)[at] = r.value;
        return r;
      }
      case 'int64': {
        const r = parseInt64Cell(text);
        if (r.ok) (arr as BigInt64Array)[at] = r.value;
        return r;
      }
      case 'string':
        (arr as string[])[at] = text;
        return { ok: true, value: text };
    }
  }

  private newBatch(): ColumnarBatch {
    const n = this.spec.limits.batchRows;
    const features = new Map<string, FeatureArray>();
    for (const plan of this.inputs) {
      const size = n * plan.indexes.length;
      const arr: FeatureArray =
        plan.spec.dtype === 'float32' ? new Float32Array(size)
        : plan.spec.dtype === 'float64' ? new Float64Array(size)
        : plan.spec.dtype === 'int64' ? new BigInt64Array(size)
        : new Array<string>(size).fill('');
      features.set(plan.spec.name, arr);
    }
    return {
      rows: 0,
      features,
      ids: this.idIndexes.map(() => []),
      passthrough: this.passIndexes.map(() => []),
      lines: [],
    };
  }
}

/** Header name → index, refusing missing or ambiguous (duplicated) names the job uses. */
function columnIndex(header: readonly string[], object: string, line: number): (name: string) => number {
  const positions = new Map<string, number[]>();
  header.forEach((h, i) => positions.set(h, [...(positions.get(h) ?? []), i]));
  return (name) => {
    const at = positions.get(name);
    if (!at) {
      const shown = header.slice(0, 20).map((h) => JSON.stringify(h)).join(', ');
      const hint = header.length === 1 && /[;\t|,]/.test(header[0] ?? '') ? '; the header has a single column: is input.csv.delimiter right?' : '';
      throw new InputError({ object, line, column: name }, `column "${name}" is not in the header (found: ${shown}${header.length > 20 ? ', …' : ''})${hint}`);
    }
    if (at.length > 1) throw new InputError({ object, line, column: name }, `column "${name}" appears ${at.length} times in the header (positions ${at.map((i) => i + 1).join(', ')})`);
    return at[0] as number;
  };
}
