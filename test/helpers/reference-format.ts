/**
 * Output formatting as it was before the byte writer (src/formats/parts/byte-writer.ts): plain string
 * code, slow and obviously right. It is the definition the fast path must match byte for byte,
 * because parts must not change between versions; tests compare against it and bench/format.ts
 * measures against it. Do not "optimise" this file.
 */
import type { ColumnarBatch, ScoreColumns } from '../../src/core/types.js';
import { csvText } from '../../src/formats/parts/cells.js';
import type { JobSpec } from '../../src/spec/job-spec.js';

/** Shortest text that reads back as the same float32, searched with toPrecision (7, down or up). */
export function referenceFormatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return '0';
  let s = v.toPrecision(7);
  if (Math.fround(Number(s)) === v) {
    for (let p = 6; p >= 1; p--) {
      const t = v.toPrecision(p);
      if (Math.fround(Number(t)) !== v) break;
      s = t;
    }
  } else {
    s = v.toPrecision(8);
    if (Math.fround(Number(s)) !== v) s = v.toPrecision(9);
  }
  return s.includes('e') ? String(Number(s)) : s;
}

export function referenceFormatNumber(v: number, float32: boolean, decimals: number | undefined): string {
  if (decimals !== undefined && Number.isFinite(v)) return v.toFixed(decimals);
  return float32 ? referenceFormatFloat32(v) : String(v);
}

type CellText = (row: number) => string;

function scoreCells(scores: ScoreColumns[], decimals: number | undefined, asJson: boolean): CellText[] {
  const cells: CellText[] = [];
  for (const s of scores) {
    const v = s.values;
    const w = s.width;
    for (let j = 0; j < w; j++) {
      if (v instanceof Float32Array || v instanceof Float64Array) {
        const f32 = v instanceof Float32Array;
        cells.push((r) => {
          const x = v[r * w + j] as number;
          return asJson && !Number.isFinite(x) ? 'null' : referenceFormatNumber(x, f32, decimals);
        });
      } else if (v instanceof BigInt64Array || v instanceof Int32Array) {
        cells.push((r) => String(v[r * w + j]));
      } else {
        cells.push((r) => {
          const x = v[r * w + j];
          return asJson ? JSON.stringify(typeof x === 'string' ? x : Boolean(x)) : csvText(String(x));
        });
      }
    }
  }
  return cells;
}

/** The rows of a CSV part, one string per batch built with `+=`. */
export function referenceCsvRows(batch: ColumnarBatch, scores: ScoreColumns[], decimals: number | undefined): string {
  const text = [...batch.ids, ...batch.passthrough];
  const columns: CellText[] = [...text.map((col) => (r: number) => csvText(col[r] as string)), ...scoreCells(scores, decimals, false)];
  const n = columns.length;
  let out = '';
  for (let r = 0; r < batch.rows; r++) {
    out += (columns[0] as CellText)(r);
    for (let k = 1; k < n; k++) out += `,${(columns[k] as CellText)(r)}`;
    out += '\n';
  }
  return out;
}

/** The rows of a JSON Lines part. */
export function referenceJsonlRows(spec: JobSpec, batch: ColumnarBatch, scores: ScoreColumns[]): string {
  const textKeys = [...spec.input.id, ...spec.input.passthrough].map((n) => JSON.stringify(n));
  const scoreKeys = spec.model.outputs.flatMap((o) => o.columns).map((n) => JSON.stringify(n));
  const cells = scoreCells(scores, spec.output.decimals, true);
  const text = [...batch.ids, ...batch.passthrough];
  let out = '';
  for (let r = 0; r < batch.rows; r++) {
    const parts: string[] = [];
    text.forEach((col, k) => parts.push(`${textKeys[k]}:${JSON.stringify(col[r])}`));
    cells.forEach((c, k) => parts.push(`${scoreKeys[k]}:${c(r)}`));
    out += `{${parts.join(',')}}\n`;
  }
  return out;
}
