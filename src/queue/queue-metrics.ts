/**
 * Metrics read from Redis when scraped, so every process reports the same truth and a restart
 * loses nothing: queue depth per queue and state, each job's last successful run, late runs.
 */
import type { Redis } from 'ioredis';
import { addCollectedGauge } from '../core/metrics.js';
import { Queue } from './bullmq.js';
import { lateJobs } from './late-record.js';
import { RUNS_QUEUE, SHARDS_QUEUE } from './names.js';
import { RunRegistry } from './run-registry.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/** The hash of job name → unix seconds of its last successful run. */
export function lastSuccessKey(prefix: string): string {
  return `${prefix}:last-success`;
}

export async function recordSuccess(redis: Redis, prefix: string, job: string, at: Date): Promise<void> {
  await redis.hset(lastSuccessKey(prefix), job, String(Math.floor(at.getTime() / 1000)));
}

let registered = false;

/** Registers the Redis-backed gauges once per process; returns a close function for its queues. */
export function registerQueueGauges(redis: Redis, prefix: string): () => Promise<void> {
  if (registered) return async () => undefined;
  registered = true;
  const queues = [RUNS_QUEUE, SHARDS_QUEUE].map((name) => new Queue(name, { connection: redis, prefix }));
  for (const q of queues) q.on('error', () => undefined);
  addCollectedGauge('nightshift_queue_jobs', 'BullMQ jobs per queue and state.', ['queue', 'state'], async (set) => {
    for (const q of queues) {
      const counts = await q.getJobCounts(...STATES);
      for (const s of STATES) set({ queue: q.name, state: s }, counts[s] ?? 0);
    }
  });
  addCollectedGauge('nightshift_last_success_timestamp_seconds', 'Unix time of the last successful run of each job.', ['job'], async (set) => {
    for (const [job, at] of Object.entries(await redis.hgetall(lastSuccessKey(prefix)))) set({ job }, Number(at));
  });
  const registry = new RunRegistry(redis, prefix);
  addCollectedGauge(
    'nightshift_run_late',
    '1 while a scheduled run of the job has not succeeded schedule.lateAfter after its tick, else 0.',
    ['job'],
    async (set) => {
      for (const [job, late] of await lateJobs(redis, prefix, registry)) set({ job }, late ? 1 : 0);
    },
  );
  return async () => {
    await Promise.all(queues.map((q) => q.close()));
  };
}
