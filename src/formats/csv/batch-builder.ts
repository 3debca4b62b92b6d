/**
 * Validates records against the job's column mapping and packs accepted rows into a
 * ColumnarBatch. A row with any bad cell is rejected whole, with the first problem found.
 */
import type { ColumnarBatch, FeatureArray, RejectedRow } from '../../core/types.js';
import type { ModelInputSpec } from '../../spec/job-spec.js';
import type { CsvRecord } from './csv-reader.js';
import { parseFloatCell, parseInt64Cell, type CellResult } from '../rows/parse-cell.js';
import { allocateBatch, invalidTextColumn, invalidTextDetail, trimBatch, type InputPlan } from '../rows/column-plan.js';
import { ColumnBatcher } from '../rows/column-batcher.js';

export class BatchBuilder extends ColumnBatcher<CsvRecord> {
  private readonly inputs: readonly InputPlan[] = this.plan.inputs;

  add(rec: CsvRecord): RejectedRow | undefined {
    const f = rec.fields;
    const ids = this.idIndexes.map((i) => f[i] ?? '');
    if (f.length !== this.fieldCount) {
      return { line: rec.line, column: undefined, reason: 'field_count', detail: `expected ${this.fieldCount} fields, found ${f.length}`, raw: rec.raw, ids };
    }
    const invalid = rec.invalidFields;
    if (invalid) {
      const bad = invalidTextColumn(this.plan.used, (i) => invalid.includes(i));
      if (bad)
        return { line: rec.line, column: bad.name, reason: 'invalid_utf8', detail: invalidTextDetail(this.options.input.csv.encoding), raw: rec.raw, ids };
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

  take(): ColumnarBatch {
    const b = this.batch;
    this.batch = allocateBatch(this.plan, this.batchRows);
    return trimBatch(b, this.plan);
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
}
