/** Messages between the threaded `score` (main thread) and its shard threads. */
import type { SerializedError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import type { LoadedModel } from '../model/load-model.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { S3Settings } from '../storage/s3-config.js';
import type { ShardUnit } from './plan-units.js';
import type { ChallengerThreadInit } from './challenger-model.js';

/**
 * What the run resolved once, handed over as it is (a structured clone): the thread neither parses
 * the spec again nor reads the model again, and scores with exactly the model the run checked.
 */
export interface ShardThreadInit {
  readonly spec: JobSpec;
  /** The spec file's folder: relative input and output locations resolve against it. */
  readonly baseDir: string;
  readonly model: LoadedModel;
  readonly s3: S3Settings | undefined;
  /** The challenger the run planned (model.challenger), when it loaded and fits the job. */
  readonly challenger?: ChallengerThreadInit | undefined;
}

export interface ShardTaskMessage {
  readonly kind: 'task';
  readonly id: number;
  readonly shard: string;
  readonly inputUri: string;
  readonly size: number;
  readonly range: ShardUnit['range'];
  readonly partKey: string;
  readonly errorsKey: string;
  /** The output prefix location, as parseLocation reads it. */
  readonly outputUri: string;
}

/**
 * The run to score (first, once: the thread starts before the plan knows it), a task, or: stop
 * the shards under way (the run was cancelled).
 */
export type ShardThreadCommand = { readonly kind: 'init'; readonly init: ShardThreadInit } | ShardTaskMessage | { readonly kind: 'cancel' };

export type ShardThreadReply =
  | { kind: 'progress'; id: number; rows: number }
  | { kind: 'done'; id: number; result: ShardResult }
  /** The error keeps its class across the thread boundary (revived with reviveError). */
  | { kind: 'failed'; id: number; error: SerializedError };
