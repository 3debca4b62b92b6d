/**
 * Cuts a run's inputs into shard units: one per object, or byte ranges of a large uncompressed
 * CSV (see formats/csv/split-csv.ts). Shared by the distributed plan step and the threaded `score`.
 */
import type { JobSpec } from '../spec/job-spec.js';
import type { InputObject } from './resolve-inputs.js';
import { splitObject } from '../formats/csv/split-csv.js';

export interface ShardUnit {
  readonly input: InputObject;
  readonly range?: { start: number; end: number; header: string[]; linesBefore: number };
}

export async function planUnits(spec: JobSpec, inputs: readonly InputObject[], signal?: AbortSignal): Promise<ShardUnit[]> {
  const units: ShardUnit[] = [];
  for (const input of inputs) {
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
