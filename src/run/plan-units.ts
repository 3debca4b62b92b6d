/**
 * Cuts a run's inputs into shard units: one per object, or byte ranges of a large uncompressed
 * CSV. Shared by the distributed plan step and the threaded `score`. A large CSV is cut without
 * reading it (formats/csv/speculative-split.ts) when its options allow and every cut is certain;
 * otherwise by one serial pass over it (formats/csv/split-csv.ts), which is exact by construction.
 */
import type { JobSpec } from '../spec/job-spec.js';
import type { InputObject } from './resolve-inputs.js';
import { splitObject, type SplitPlan } from '../formats/csv/split-csv.js';
import { canSplitSpeculatively, splitSpeculatively } from '../formats/csv/speculative-split.js';
import { parquetShards } from '../formats/parquet/parquet-input.js';

export interface ShardUnit {
  readonly input: InputObject;
  /** CSV: a byte range. Parquet: row groups [start, end), linesBefore = rows before them. */
  readonly range?: ShardRange;
  /** The bytes the shard reads, as the plan knows them: its byte range, its row groups' compressed size, or the whole object. */
  readonly bytes: number;
}

export interface ShardRange {
  start: number;
  end: number;
  header: string[];
  linesBefore: number;
  /**
   * A range of a speculative split: its start (or the next range's) is a guess its shard helps
   * prove, and lines are counted from linesBefore as given (0 after the first range); finalize
   * checks the chain and shifts the errors files' lines (run/speculative-ranges.ts).
   */
  speculative?: true;
}

export async function planUnits(spec: JobSpec, inputs: readonly InputObject[], signal?: AbortSignal): Promise<ShardUnit[]> {
  const units: ShardUnit[] = [];
  for (const input of inputs) {
    if (spec.input.format === 'parquet') {
      // Row groups are a Parquet file's natural shards: range = row groups [start, end).
      const groups = await parquetShards(input, spec.input.shardBytes);
      if (groups.length === 1) units.push({ input, bytes: input.size });
      else for (const g of groups) units.push({ input, range: { start: g.start, end: g.end, header: [], linesBefore: g.rowsBefore }, bytes: g.bytes });
      continue;
    }
    if (spec.input.format === 'jsonl') {
      units.push({ input, bytes: input.size });
      continue;
    }
    const splittable = input.size > spec.input.shardBytes && !input.key.endsWith('.gz') && spec.input.csv.header;
    if (!splittable) {
      units.push({ input, bytes: input.size });
      continue;
    }
    const speculative = await speculate(spec, input, signal);
    const split = speculative ?? (await splitObject(input.store, input.key, input.display, input.size, spec.input.csv, spec.input.shardBytes, signal));
    for (const r of split.ranges)
      units.push({
        input,
        range: { start: r.start, end: r.end, header: split.header, linesBefore: r.linesBefore, ...(speculative ? { speculative: true } : {}) },
        bytes: r.end - r.start,
      });
  }
  return units;
}

/**
 * The split without a serial pass, when it can be exact. Not with a challenger: its row sample
 * is keyed by each row's line as the shard reads it, so a shard must know its lines up front.
 */
async function speculate(spec: JobSpec, input: InputObject, signal?: AbortSignal): Promise<SplitPlan | undefined> {
  if (!canSplitSpeculatively(spec.input.csv) || spec.model.challenger) return undefined;
  return splitSpeculatively(input.store, input.key, input.display, input.size, spec.input.csv, spec.input.shardBytes, signal);
}
