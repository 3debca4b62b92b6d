/**
 * Parquet input (hyparquet): columns by name, read with range requests (the footer, then only
 * the column chunks of the columns the job uses), one row group at a time in slices, so memory
 * is bounded by a slice whatever the file's size. Row groups are the shards of a large file
 * (parquetShards). Rows become cell texts for the shared row rules (rows/value-records.ts);
 * nulls count as missing values.
 *
 * File-level problems fail the shard with an InputError naming the object: not Parquet, a
 * truncated file or corrupt footer, a column the job uses that the file lacks, a column whose
 * type cannot feed its model input (text or nested where a number is expected).
 * "line" in a rejected row is the row's 1-based position in the file.
 */
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { InputError } from '../../core/errors.js';
import type { ReaderOptions } from '../../spec/component-options.js';
import { readAll, type ObjectStore } from '../../storage/object-store.js';
import type { BatchEvent } from '../rows/batch-queue.js';
import { cellText, usedColumns, valueBatchEvents, type ValueRow } from '../rows/value-records.js';

/** Rows decoded at once: bounds memory inside a large row group. */
const SLICE_ROWS = 65536;

export interface ParquetSource {
  readonly store: ObjectStore;
  readonly key: string;
  readonly display: string;
  readonly size: number;
}

/** Row groups [start, end) of a file and the rows before them. */
export interface RowGroupRange {
  readonly start: number;
  readonly end: number;
  readonly rowsBefore: number;
}

/** An AsyncBuffer over ranged reads of the object; counts the bytes fetched. */
function objectBuffer(src: ParquetSource, signal: AbortSignal | undefined): AsyncBuffer & { fetched: number } {
  const buf = {
    byteLength: src.size,
    fetched: 0,
    async slice(start: number, end = src.size): Promise<ArrayBuffer> {
      if (end <= start) return new ArrayBuffer(0);
      const bytes = await readAll(await src.store.read(src.key, { range: { start, end: end - 1 }, ...(signal ? { signal } : {}) }));
      buf.fetched += bytes.length;
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
  return buf;
}

export async function readParquetMetadata(src: ParquetSource, file: AsyncBuffer = objectBuffer(src, undefined)): Promise<FileMetaData> {
  if (src.size < 12)
    throw new InputError({ object: src.display }, `not a readable Parquet file: ${src.size} bytes is too short to hold a Parquet footer (truncated?)`);
  try {
    return await parquetMetadataAsync(file);
  } catch (err) {
    throw new InputError({ object: src.display }, `not a readable Parquet file (truncated, or a corrupt footer): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Shards of a Parquet file: consecutive row groups holding about `shardBytes` (compressed) each;
 * one shard when the file is not larger than that.
 */
/** A shard's row groups, with their compressed bytes (the file's size when it is one shard). */
export interface RowGroupShard extends RowGroupRange {
  readonly bytes: number;
}

export async function parquetShards(src: ParquetSource, shardBytes: number): Promise<RowGroupShard[]> {
  // A file that is one shard is not opened here: its problems fail its shard, not the plan.
  if (src.size <= shardBytes) return [{ start: 0, end: Number.MAX_SAFE_INTEGER, rowsBefore: 0, bytes: src.size }];
  const groups = (await readParquetMetadata(src)).row_groups;
  if (groups.length <= 1) return [{ start: 0, end: groups.length, rowsBefore: 0, bytes: src.size }];
  const ranges: RowGroupShard[] = [];
  let start = 0;
  let bytes = 0;
  let rows = 0;
  let rowsBefore = 0;
  groups.forEach((g, i) => {
    bytes += Number(g.total_compressed_size ?? g.total_byte_size);
    rows += Number(g.num_rows);
    if (bytes >= shardBytes || i === groups.length - 1) {
      ranges.push({ start, end: i + 1, rowsBefore, bytes });
      rowsBefore += rows;
      start = i + 1;
      bytes = 0;
      rows = 0;
    }
  });
  return ranges;
}

export interface ParquetReadResult {
  readonly events: AsyncGenerator<BatchEvent>;
  /** Bytes fetched from the object so far. */
  bytesRead(): number;
}

export function readParquetBatchEvents(src: ParquetSource, spec: ReaderOptions, range: RowGroupRange | undefined, signal?: AbortSignal): ParquetReadResult {
  const file = objectBuffer(src, signal);
  const columns = usedColumns(spec);
  return { events: valueBatchEvents(parquetRows(src, file, columns, spec, range), columns, spec, src.display), bytesRead: () => file.fetched };
}

async function* parquetRows(
  src: ParquetSource,
  file: AsyncBuffer,
  columns: readonly string[],
  spec: ReaderOptions,
  range: RowGroupRange | undefined,
): AsyncGenerator<ValueRow> {
  const metadata = await readParquetMetadata(src, file);
  checkColumns(src.display, metadata, spec);
  const groups = metadata.row_groups;
  const first = range?.start ?? 0;
  const last = Math.min(range?.end ?? groups.length, groups.length);
  let row = 0;
  for (let g = 0; g < first; g++) row += Number(groups[g]?.num_rows ?? 0);
  for (let g = first; g < last; g++) {
    const groupEnd = row + Number(groups[g]?.num_rows ?? 0);
    for (let start = row; start < groupEnd; start += SLICE_ROWS) {
      const end = Math.min(groupEnd, start + SLICE_ROWS);
      let objects: Record<string, unknown>[];
      try {
        objects = await parquetReadObjects({ file, metadata, columns: [...columns], rowStart: start, rowEnd: end, compressors });
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError({ object: src.display, line: start + 1 }, `cannot decode Parquet rows ${start + 1}–${end}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      for (let i = 0; i < objects.length; i++) {
        const obj = objects[i] as Record<string, unknown>;
        yield { line: start + i + 1, raw: rawRow(obj), fields: columns.map((c) => cellText(obj[c])) };
      }
    }
    row = groupEnd;
  }
}

function rawRow(obj: Record<string, unknown>): string {
  return JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

const NUMERIC = new Set(['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'BOOLEAN']);

/** Every used column exists as a top-level leaf; number inputs are fed from numeric columns. */
function checkColumns(object: string, metadata: FileMetaData, spec: ReaderOptions): void {
  const top = new Map<string, SchemaElement & { nested: boolean }>();
  for (const child of parquetSchema(metadata).children)
    top.set(child.element.name, { ...child.element, nested: child.children.length > 0 || child.element.repetition_type === 'REPEATED' });
  const have = [...top.keys()];
  for (const c of usedColumns(spec)) {
    if (!top.has(c))
      throw new InputError(
        { object, column: c },
        `column "${c}" is not in the Parquet file (its columns: ${have
          .slice(0, 20)
          .map((h) => JSON.stringify(h))
          .join(', ')}${have.length > 20 ? ', …' : ''})`,
      );
  }
  for (const input of spec.model.inputs) {
    if (input.dtype === 'string') continue;
    for (const c of input.columns) {
      const el = top.get(c) as SchemaElement & { nested: boolean };
      const type = el.nested ? 'a nested (group or repeated) column' : `${el.type ?? '?'}${el.converted_type ? `/${el.converted_type}` : ''}`;
      if (el.nested || !NUMERIC.has(el.type ?? '')) {
        throw new InputError(
          { object, column: c },
          `column "${c}" is ${type} in the Parquet file; model input "${input.name}" (${input.dtype}) needs a numeric column (INT32, INT64, FLOAT or DOUBLE)`,
        );
      }
    }
  }
}

/** Every row of a Parquet file as an object (column → value; INT64 as bigint), a row group slice at a time. */
export async function* readParquetObjects(src: ParquetSource): AsyncGenerator<Record<string, unknown>> {
  const file = objectBuffer(src, undefined);
  const metadata = await readParquetMetadata(src, file);
  const total = Number(metadata.num_rows);
  for (let start = 0; start < total; start += SLICE_ROWS) {
    yield* await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: Math.min(total, start + SLICE_ROWS), compressors });
  }
}
