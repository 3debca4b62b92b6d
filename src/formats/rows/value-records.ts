/**
 * Readers whose rows are values by column name (JSON Lines, Parquet) feed the same row rules as
 * CSV: each row becomes a record of cell texts in a fixed column order, checked and batched by
 * the general BatchBuilder. So a value is accepted or rejected (missing, not a number, out of
 * range, not an integer) for the same reasons and with the same details whatever the format.
 *
 * Cell text of a value: a number prints as the shortest text that reads back as the same double
 * (exact for float64; for a float32 column the value is a float32, and reads back to it); an
 * int64 (bigint) as its digits; null, undefined and a missing key as an empty cell (missing);
 * text as it is; a nested value (object, array) as its JSON, which no number column accepts.
 */
import type { RejectedRow } from '../../core/types.js';
import type { ColumnOptions, ReaderOptions } from '../../spec/component-options.js';
import { BatchBuilder } from '../csv/batch-builder.js';
import type { BatchEvent } from './batch-queue.js';
import type { CsvRecord } from '../csv/csv-reader.js';

/** The columns a job reads, in a fixed order: ids, passthrough, then model input columns. */
export function usedColumns(spec: ColumnOptions): string[] {
  return [...new Set([...spec.input.id, ...spec.input.passthrough, ...spec.model.inputs.flatMap((i) => i.columns)])];
}

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** One row read: its cells (in `columns` order) or why it cannot be a row at all. */
export type ValueRow =
  | { readonly line: number; readonly raw: string; readonly fields: string[] }
  | { readonly line: number; readonly raw: string; readonly rejected: Pick<RejectedRow, 'reason' | 'detail'> };

/**
 * Batch events from rows of cells in `columns` order: the shard loop's contract (csv-batches.ts).
 * Rows read = Σ batch.rows + rejected events.
 */
export async function* valueBatchEvents(
  rows: AsyncIterable<ValueRow>,
  columns: readonly string[],
  spec: ReaderOptions,
  object: string,
): AsyncGenerator<BatchEvent> {
  const builder = new BatchBuilder(columns, spec, object, 0);
  const idAt = spec.input.id.map((c) => columns.indexOf(c));
  for await (const row of rows) {
    if ('rejected' in row) {
      yield { kind: 'rejected', row: { line: row.line, column: undefined, ...row.rejected, raw: row.raw, ids: idAt.map(() => '') } };
      continue;
    }
    const rec: CsvRecord = { fields: row.fields, line: row.line, raw: row.raw };
    const rejected = builder.add(rec);
    if (rejected) yield { kind: 'rejected', row: rejected };
    else if (builder.full) yield { kind: 'batch', batch: builder.take() };
  }
  if (builder.rows > 0) yield { kind: 'batch', batch: builder.take() };
}
