/**
 * Cuts a run's inputs into shard units: one per object, or byte ranges of a large uncompressed
 * CSV (see formats/csv/split-csv.ts). Shared by the distributed plan step and the threaded `score`.
 */
import type { JobSpec } from '../spec/job-spec.js';
import type { InputObject } from './resolve-inputs.js';
import { splitObject } from '../formats/csv/split-csv.js';
import { parquetShards } from '../formats/parquet/parquet-input.js';

export interface ShardUnit {
  readonly input: InputObject;
  /** CSV: a byte range. Parquet: row groups [start, end), linesBefore = rows before them. */
  readonly range?: { start: number; end: number; header: string[]; linesBefore: number };
}

export async function planUnits(spec: JobSpec, inputs: readonly InputObject[], signal?: AbortSignal): Promise<ShardUnit[]> {
  const units: ShardUnit[] = [];
  for (const input of inputs) {
    if (spec.input.format === 'parquet') {
      // Row groups are a Parquet file's natural shards: range = row groups [start, end).
      const groups = await parquetShards(input, spec.input.shardBytes);
      if (groups.length === 1) units.push({ input });
      else for (const g of groups) units.push({ input, range: { start: g.start, end: g.end, header: [], linesBefore: g.rowsBefore } });
      continue;
    }
    if (spec.input.format === 'jsonl') {
      units.push({ input });
      continue;
    }
    const splittable = input.size > spec.input.shardBytes && !input.key.endsWith('.gz') && spec.input.csv.header;
    if (!splittable) {
      units.push({ input });
      continue;
    }
    const split = await splitObject(input.store, input.key, input.display, input.size, spec.input.csv, spec.input.shardBytes, signal);
    for (const r of split.ranges) units.push({ input, range: { start: r.start, end: r.end, header: split.header, linesBefore: r.linesBefore } });
  }
  return units;
}
