/**
 * Parquet parts (hyparquet-writer): ids and passthrough as UTF-8 strings, score columns in the
 * type the model returned them (float32 → FLOAT, float64 → DOUBLE, int64 → INT64, int32 →
 * INT32, string → UTF8, bool → BOOLEAN), snappy-compressed, one row group per
 * output.rowGroupRows rows. Batches are gathered until a row group is full; its bytes go to the
 * part's stream then, and the footer at the end, so a part costs one row group of memory.
 *
 * A part with no rows (every row rejected) has not seen the model's output types: its score
 * columns are written as DOUBLE.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnarBatch, ScoreColumns } from '../../core/types.js';
import type { PartOptions } from '../../spec/component-options.js';
import type { PartEncoder } from './part-encoder.js';

/** The writer's schema element type (hyparquet-writer carries its own hyparquet types). */
type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];
type ColumnValues = Float32Array | Float64Array | BigInt64Array | Int32Array | string[] | boolean[];

interface OutColumn {
  readonly name: string;
  element?: SchemaElement;
  chunks: ColumnValues[];
}

export function parquetEncoder(spec: PartOptions): PartEncoder {
  const text = [...spec.input.id, ...spec.input.passthrough];
  const scoreNames = spec.model.outputs.flatMap((o) => o.columns);
  const columns: OutColumn[] = [...text, ...scoreNames].map((name, i) => ({
    name,
    chunks: [],
    ...(i < text.length ? { element: { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' } } : {}),
  }));
  const bytes = new ByteWriter();
  let writer: ParquetWriter | undefined;
  let buffered = 0;

  const start = (): ParquetWriter => {
    // Types unknown only when no row reached this part (see above).
    for (const c of columns) c.element ??= { name: c.name, type: 'DOUBLE', repetition_type: 'REQUIRED' };
    const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...columns.map((c) => c.element as SchemaElement)];
    return new ParquetWriter({ writer: bytes, schema, codec: 'SNAPPY', createdBy: 'nightshift' });
  };

  /** Writes the first `rows` buffered rows (all of them by default) as one row group. */
  const flushGroup = (rows = buffered): void => {
    if (rows === 0) return;
    writer ??= start();
    const data = columns.map((c) => concat(c.chunks, buffered));
    void writer.write({ columnData: columns.map((c, i) => ({ name: c.name, data: (data[i] as ColumnValues).slice(0, rows) })), rowGroupSize: rows });
    columns.forEach((c, i) => {
      const rest = (data[i] as ColumnValues).slice(rows);
      c.chunks = rest.length > 0 ? [rest] : [];
    });
    buffered -= rows;
  };

  const take = (): Buffer => {
    const out = Buffer.from(new Uint8Array(bytes.buffer, 0, bytes.index));
    bytes.index = 0;
    return out;
  };

  return {
    header: () => '',
    rows(batch: ColumnarBatch, scores: ScoreColumns[]): Buffer {
      if (batch.rows === 0) return Buffer.alloc(0);
      let k = 0;
      for (const values of [...batch.ids, ...batch.passthrough]) (columns[k++] as OutColumn).chunks.push(values.slice(0, batch.rows));
      for (const s of scores) {
        for (let j = 0; j < s.width; j++) {
          const col = columns[k++];
          if (!col) continue;
          col.element ??= elementFor(col.name, s.values);
          col.chunks.push(column(s, j, batch.rows));
        }
      }
      buffered += batch.rows;
      if (buffered < spec.output.rowGroupRows) return Buffer.alloc(0);
      while (buffered >= spec.output.rowGroupRows) flushGroup(spec.output.rowGroupRows);
      return take();
    },
    end(): Buffer {
      flushGroup();
      writer ??= start();
      void writer.finish();
      return take();
    },
  };
}

function elementFor(name: string, values: ScoreColumns['values']): SchemaElement {
  const base = { name, repetition_type: 'REQUIRED' as const };
  if (values instanceof Float32Array) return { ...base, type: 'FLOAT' };
  if (values instanceof Float64Array) return { ...base, type: 'DOUBLE' };
  if (values instanceof BigInt64Array) return { ...base, type: 'INT64' };
  if (values instanceof Int32Array) return { ...base, type: 'INT32' };
  if (values.length > 0 && typeof values[0] === 'boolean') return { ...base, type: 'BOOLEAN' };
  return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
}

/** Column j of a rows × width output. */
function column(s: ScoreColumns, j: number, rows: number): ColumnValues {
  const v = s.values;
  if (Array.isArray(v)) return (v as (string | boolean)[]).filter((_, i) => i % s.width === j).slice(0, rows) as string[] | boolean[];
  if (s.width === 1) return v.slice(0, rows);
  const out = new (v.constructor as new (n: number) => typeof v)(rows);
  for (let r = 0; r < rows; r++) out[r] = v[r * s.width + j] as never;
  return out;
}

function concat(chunks: ColumnValues[], rows: number): ColumnValues {
  const first = chunks[0];
  if (!first) return [];
  if (chunks.length === 1) return first;
  if (Array.isArray(first)) return (chunks as (string | boolean)[][]).flat() as string[] | boolean[];
  const out = new (first.constructor as new (n: number) => Float32Array | Float64Array | BigInt64Array | Int32Array)(rows);
  let at = 0;
  for (const c of chunks as (Float32Array | Float64Array | BigInt64Array | Int32Array)[]) {
    out.set(c as never, at);
    at += c.length;
  }
  return out;
}
