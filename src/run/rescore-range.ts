/**
 * The verified fallback's scoring (speculative-ranges.ts): a range the chain proved, scored again
 * in the finalize step with this process's scorer, under the keys of the shard it replaces. Both
 * executors hand finalize one of these; only where the scorer and the input come from differs.
 */
import type { ShardResult } from '../core/types.js';
import { partFormat } from '../formats/parts/part-formats.js';
import type { Scorer } from '../model/onnx-scorer.js';
import { scoreShard } from '../scoring/score-shard.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { StoreRef } from '../storage/stores.js';
import { shardKeys } from './run-plan.js';
import type { ProvenRange, Rescore } from './speculative-ranges.js';

export interface RescoreContext {
  readonly spec: JobSpec;
  readonly scorer: () => Promise<Scorer>;
  /** The run's output and this attempt. */
  readonly out: StoreRef;
  readonly attempt: string;
  /** Where the object a shard result names (ShardResult.object) is read from. */
  readonly input: (object: string) => { readonly store: ObjectStore; readonly key: string };
  /** Told before each range is scored again (a log line: a wrong guess is worth knowing about). */
  readonly onRescore?: (r: ProvenRange) => void;
  readonly signal?: AbortSignal;
}

export function rescoreWith(ctx: RescoreContext): Rescore {
  return async (r: ProvenRange): Promise<ShardResult> => {
    ctx.onRescore?.(r);
    const { spec } = ctx;
    const output = { store: ctx.out.store, ...shardKeys(spec, ctx.out.key, ctx.attempt, r.shard, true) };
    const input = { ...ctx.input(r.object), display: r.object, size: r.range.end + 1 };
    const scorer = await ctx.scorer();
    return scoreShard(
      { spec, scorer, format: partFormat(spec), ...(ctx.signal ? { signal: ctx.signal } : {}) },
      { shard: r.shard, input, range: r.range, output },
    );
  };
}
