/**
 * Formats scored rows into the bytes of a part: CSV or JSON Lines. A whole batch becomes one
 * string, so writing costs one stream write per batch rather than one per row.
 */
import type { ColumnarBatch, RejectedRow, ScoreColumns } from '../core/types.js';
import type { JobSpec } from '../spec/job-spec.js';
import { csvText, formatNumber } from './cells.js';

export interface PartFormat {
  readonly extension: string;
  readonly contentType: string;
  header(): string;
  rows(batch: ColumnarBatch, scores: ScoreColumns[]): string;
}

export function partFormat(spec: JobSpec): PartFormat {
  return spec.output.format === 'jsonl' ? jsonlFormat(spec) : csvFormat(spec);
}

type CellWriter = (row: number) => string;

/** One function per output score column, so the row loop does no type dispatch. */
function scoreCells(scores: ScoreColumns[], decimals: number | undefined, asJson: boolean): CellWriter[] {
  const cells: CellWriter[] = [];
  for (const s of scores) {
    const v = s.values;
    for (let j = 0; j < s.width; j++) {
      const w = s.width;
      if (v instanceof Float32Array || v instanceof Float64Array) {
        const f32 = v instanceof Float32Array;
        cells.push((r) => {
          const x = v[r * w + j] as number;
          return asJson && !Number.isFinite(x) ? 'null' : formatNumber(x, f32, decimals);
        });
      } else if (v instanceof BigInt64Array || v instanceof Int32Array) {
        cells.push((r) => String(v[r * w + j]));
      } else if (Array.isArray(v)) {
        cells.push((r) => {
          const x = v[r * w + j];
          return asJson ? JSON.stringify(typeof x === 'string' ? x : Boolean(x)) : csvText(String(x));
        });
      } else {
        throw new Error(`unsupported output tensor type for "${s.name}"`);
      }
    }
  }
  return cells;
}

function csvFormat(spec: JobSpec): PartFormat {
  const names = [...spec.input.id, ...spec.input.passthrough, ...spec.model.outputs.flatMap((o) => o.columns)];
  return {
    extension: 'csv',
    contentType: 'text/csv',
    header: () => `${names.map((n) => csvText(n)).join(',')}\n`,
    rows(batch, scores) {
      const cells = scoreCells(scores, spec.output.decimals, false);
      const text = [...batch.ids, ...batch.passthrough];
      const columns: ((r: number) => string)[] = [...text.map((col) => (r: number) => csvText(col[r] as string)), ...cells];
      const n = columns.length;
      let out = '';
      // Separators go before every cell but the first: no per-row slice of the finished line.
      for (let r = 0; r < batch.rows; r++) {
        out += (columns[0] as (r: number) => string)(r);
        for (let k = 1; k < n; k++) out += `,${(columns[k] as (r: number) => string)(r)}`;
        out += '\n';
      }
      return out;
    },
  };
}

function jsonlFormat(spec: JobSpec): PartFormat {
  const textKeys = [...spec.input.id, ...spec.input.passthrough].map((n) => JSON.stringify(n));
  const scoreKeys = spec.model.outputs.flatMap((o) => o.columns).map((n) => JSON.stringify(n));
  return {
    extension: 'jsonl',
    contentType: 'application/x-ndjson',
    header: () => '',
    rows(batch, scores) {
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
    },
  };
}

export const ERRORS_HEADER = 'source,line,column,reason,detail,id,record\n';

/** One line of the errors file; every text cell is neutralised (raw records are untrusted). */
export function errorLine(source: string, r: RejectedRow): string {
  return `${[source, String(r.line), r.column ?? '', r.reason, r.detail, r.ids.join('|'), r.raw].map((t) => csvText(t)).join(',')}\n`;
}
