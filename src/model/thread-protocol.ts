/** Messages between the inference threads' owner (thread-scorer.ts) and inference-thread.ts. */
import type { SerializedError } from '../core/errors.js';
import type { FeatureArray, ScoreColumns } from '../core/types.js';
import type { Dtype } from '../spec/job-spec.js';
import type { ModelMetadata } from './check-mapping.js';

export type ThreadRequest =
  | { kind: 'load'; id: number; model: Uint8Array; threads: number }
  | { kind: 'run'; id: number; rows: number; fetches: string[]; features: { name: string; dtype: Dtype; width: number; data: FeatureArray }[] }
  | { kind: 'close'; id: number };

export type ThreadResponse =
  /** onnxruntime is loaded; the thread waits for its model. */
  | { kind: 'ready'; id: -1 }
  | { kind: 'loaded'; id: number; metadata: ModelMetadata }
  | { kind: 'result'; id: number; outputs: { name: string; dims: number[]; values: ScoreColumns['values'] }[] }
  /** The error keeps its class across the thread boundary (revived with reviveError). */
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'closed'; id: number };
