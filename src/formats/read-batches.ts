/**
 * The reader interface of the shard loop: an input byte stream (already gunzipped, see
 * open-input.ts) becomes batch events, by the job's input format. Every reader yields, in input
 * order, { kind: 'rejected', row } for a data row that is not scored and { kind: 'batch', batch }
 * for accepted rows (limits.batchRows each, the last one possibly fewer, never empty); rows read
 * = Σ batch.rows + rejected events. File-level problems throw InputError naming object and line.
 * A new format adds a reader here (the CSV one is formats/csv/csv-batches.ts) and reuses
 * formats/rows/ (column plan, cell parsing, BatchQueue).
 */
import type { Readable } from 'node:stream';
import type { ReaderOptions } from '../spec/component-options.js';
import { readBatchEvents } from './csv/csv-batches.js';
import { readJsonlBatchEvents } from './jsonl/jsonl-rows.js';
import type { BatchEvent } from './rows/batch-queue.js';

export type { BatchEvent };

export interface ReadBatchesOptions {
  /** Column names when the input holds no header (a byte-range shard: the plan read them). */
  readonly header?: readonly string[];
  /** Physical lines before the input (a byte-range shard); 0 by default. */
  readonly linesBefore?: number;
}

export function readBatches(stream: Readable, object: string, spec: ReaderOptions, options: ReadBatchesOptions = {}): AsyncGenerator<BatchEvent> {
  switch (spec.input.format) {
    case 'csv':
      return readBatchEvents(stream, object, spec, options);
    case 'jsonl':
      return readJsonlBatchEvents(stream, object, spec);
    case 'parquet':
      // Parquet needs random access (footer first): scoreShard reads it with readParquetBatchEvents.
      throw new Error('Parquet input is read by ranges (formats/parquet/parquet-input.ts), not as a stream');
  }
}
