/**
 * BullMQ and ioredis, loaded with require(): import() of these two was the largest part of a
 * worker's start-up (see core/commonjs.ts). Types still come from the packages:
 * `import type { Job } from 'bullmq'`.
 */
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import { requireCommonJs } from '../core/commonjs.js';

export const { DelayedError, FlowProducer, Queue, UnrecoverableError, Worker } = requireCommonJs('bullmq') as typeof BullMQ;
export type FlowProducer = BullMQ.FlowProducer;
export type Queue = BullMQ.Queue;
export type Worker = BullMQ.Worker;

export const { Redis, Cluster } = requireCommonJs('ioredis') as typeof IORedis;
export type Redis = IORedis.Redis;
