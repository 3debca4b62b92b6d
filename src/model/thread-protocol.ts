/** Messages between ThreadScorer (main thread) and inference-thread (worker thread). */
import type { FeatureArray, ScoreColumns } from '../core/types.js';
import type { Dtype } from '../spec/job-spec.js';

export interface ThreadInit {
  readonly model: Uint8Array;
  readonly threads: number;
}

export type ThreadRequest =
  | { kind: 'run'; id: number; rows: number; fetches: string[]; features: { name: string; dtype: Dtype; width: number; data: FeatureArray }[] }
  | { kind: 'close'; id: number };

export type ThreadResponse =
  | { kind: 'ready'; id: -1 }
  | { kind: 'result'; id: number; outputs: { name: string; dims: number[]; values: ScoreColumns['values'] }[] }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'closed'; id: number };
