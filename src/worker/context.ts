/** What the processors of one worker process share. */
import type { FlowProducer } from 'bullmq';
import type { RunRegistry } from '../queue/run-registry.js';
import type { Stores } from '../storage/stores.js';
import type { ScorerCache } from './scorer-cache.js';

export interface WorkerContext {
  readonly stores: Stores;
  readonly registry: RunRegistry;
  readonly flow: FlowProducer;
  readonly scorers: ScorerCache;
  /** Queue key prefix (BullMQ `prefix`). */
  readonly prefix: string;
  readonly shardAttempts: number;
  readonly lockDurationMs: number;
}
