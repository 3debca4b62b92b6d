/** What the processors of one worker process share. */
import type { FlowProducer, Job, Queue } from 'bullmq';
import type { Logger } from '../core/logger.js';
import type { Retention } from '../queue/retention.js';
import type { RunRegistry } from '../queue/run-registry.js';
import type { RunTurns } from '../queue/run-turns.js';
import type { Stores } from '../storage/stores.js';
import type { ScorerCache } from './scorer-cache.js';

export interface WorkerContext {
  readonly stores: Stores;
  readonly registry: RunRegistry;
  /** Which attempt of a run may run and publish (at most one at a time). */
  readonly turns: RunTurns;
  readonly flow: FlowProducer;
  /** The runs queue, for the plan step's own triggers (renumber-attempt.ts). */
  readonly runs: Queue;
  readonly scorers: ScorerCache;
  /** The worker's logger; processors bind job, runId, attempt and shard. */
  readonly log: Logger;
  /** Queue key prefix (BullMQ `prefix`). */
  readonly prefix: string;
  readonly shardAttempts: number;
  /** removeOnComplete/removeOnFail for the jobs the plan step adds. */
  readonly retention: Retention;
  readonly lockDurationMs: number;
  /**
   * The error to fail a job with: an AccessError becomes a hand-back (or, when no other worker
   * could take the job, a final failure); anything else is returned as is (worker/hand-back.ts).
   */
  readonly handBack: (job: Job, err: unknown) => Promise<unknown>;
}
