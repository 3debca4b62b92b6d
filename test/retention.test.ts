/**
 * Redis memory stays bounded: 1,000 small runs go through a private redis-server and its keys
 * and used_memory stop growing. The runs are driven through the real producer side (triggerRun,
 * the runs queue with its retention defaults, the run registry) and in-process BullMQ workers
 * that do what the real plan and finalize steps do to Redis (a flow of two shard jobs and a
 * finalize job with nightshift's job options, registry updates, a failed finalize for failed
 * runs), without scoring: 1,000 real scoring runs would take minutes on this machine, and
 * Redis cannot tell the difference. The real worker's options come from the same functions.
 *
 *   node --import tsx --test test/retention.test.ts
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FlowProducer, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { finalizeJobId, RUNS_QUEUE, SHARDS_QUEUE, shardJobId } from '../src/queue/names.js';
import { jobRetentionOptions, queueRetentionOptions, retentionFromEnv, sweepQueue, type Retention } from '../src/queue/retention.js';
import { RunRegistry } from '../src/queue/run-registry.js';
import { triggerRun } from '../src/queue/trigger.js';
import { addDays } from '../src/run/run-identity.js';
import { parseSpec, mlpSpec } from './helpers/jobs.js';
import { startRedisServer, waitFor } from './helpers/workers.js';

const RUNS = 1_000;
const BATCH = 250;

it(`keys and memory stop growing over ${RUNS} runs`, { timeout: 240_000 }, async (t) => {
  const server = await startRedisServer();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const prefix = 'ret';
  // The settings as an operator gives them; a run record lives 1.5 s after its run finished.
  const retention: Retention = retentionFromEnv({
    NIGHTSHIFT_KEEP_COMPLETED_COUNT: '50',
    NIGHTSHIFT_KEEP_FAILED_COUNT: '20',
    NIGHTSHIFT_KEEP_RUNS_DAYS: String(1.5 / 86_400),
    NIGHTSHIFT_KEEP_EVENTS: '1000',
  });
  const registry = new RunRegistry(redis, prefix, retention.runRecordMs);
  const runs = new Queue(RUNS_QUEUE, { connection: redis, prefix, defaultJobOptions: jobRetentionOptions(retention), ...queueRetentionOptions(retention) });
  const shards = new Queue(SHARDS_QUEUE, { connection: redis, prefix, ...queueRetentionOptions(retention) }); // as a worker's sweep creates it
  const flow = new FlowProducer({ connection: redis, prefix });
  const job = parseSpec(mlpSpec());

  const conns = [redis.duplicate(), redis.duplicate()] as const;
  const runsWorker = new Worker(
    RUNS_QUEUE,
    async (j: Job) => {
      const { runId, attempt } = j.data as { runId: string; attempt: string };
      if (j.name === 'plan') {
        await registry.update(runId, attempt, { status: 'running', shards: 2 });
        await flow.add({
          name: 'finalize',
          queueName: RUNS_QUEUE,
          data: { ...j.data, kind: 'finalize' },
          opts: { jobId: finalizeJobId(runId, attempt), ...jobRetentionOptions(retention) },
          children: ['00000', '00001'].map((shard) => ({
            name: 'shard',
            queueName: SHARDS_QUEUE,
            data: { ...j.data, shard, specText: j.data.specText },
            opts: { jobId: shardJobId(runId, attempt, shard), ignoreDependencyOnFailure: true, ...jobRetentionOptions(retention) },
          })),
        });
        return { shards: 2 };
      }
      const failed = Number(runId.slice(-2)) % 10 === 0;
      await registry.update(runId, attempt, {
        status: failed ? 'failed' : 'succeeded',
        finishedAt: new Date().toISOString(),
        ...(failed ? { reason: 'error rate' } : {}),
      });
      if (failed) throw new UnrecoverableError('run failed: error rate');
      return { status: 'succeeded' };
    },
    { connection: conns[0], prefix, concurrency: 8 },
  );
  const shardsWorker = new Worker(SHARDS_QUEUE, async (j: Job) => ({ shard: j.data.shard, rowsRead: 1, rowsScored: 1, rowsRejected: 0 }), {
    connection: conns[1],
    prefix,
    concurrency: 8,
  });
  t.after(async () => {
    // Clients before the server, or they would retry a server that is gone.
    await runsWorker.close();
    await shardsWorker.close();
    await flow.close();
    await runs.close();
    await shards.close();
    for (const c of [redis, ...conns]) c.disconnect();
    await server.stop();
  });

  const samples: { runs: number; keys: number; memory: number }[] = [];
  // KEYS, not DBSIZE: DBSIZE also counts keys whose TTL has passed but that Redis has not
  // reclaimed yet (it expires keys lazily and by sampling), so right after a batch's records
  // expire it swung by up to ~100 keys between samples. Visiting every key reclaims those, so the
  // count (and used_memory, read after it) are of live keys only.
  const keyCount = async (): Promise<number> => (await redis.keys('*')).length;
  const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  let date = '2026-01-01';
  for (let done = 0; done < RUNS;) {
    const batch: { runId: string; attempt: string }[] = [];
    for (let i = 0; i < BATCH; i++, done++, date = addDays(date, 1)) batch.push(await triggerRun(runs, registry, job, date));
    await waitFor(
      `batch ending at ${done} finished`,
      async () => {
        for (const b of batch.slice(-20)) {
          const rec = await registry.get(b.runId, b.attempt);
          if (rec && rec.status !== 'succeeded' && rec.status !== 'failed') return undefined;
        }
        return (await runs.getJobCountByTypes('active', 'waiting', 'waiting-children', 'prioritized')) === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    // Each sample is taken once the batch's run records have expired (1.5 s after their runs finished).
    await waitFor('run records expired', async () => ((await registry.list(BATCH * 2)).length === 0 ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    samples.push({ runs: done, keys: await keyCount(), memory: await usedMemory() });
  }
  t.diagnostic(`samples: ${JSON.stringify(samples)}`);
  const sizes: [string, number][] = [];
  for (const k of await redis.keys('*')) sizes.push([k, Number(await redis.memory('USAGE', k))]);
  t.diagnostic(`largest keys: ${JSON.stringify(sizes.sort((a, b) => b[1] - a[1]).slice(0, 6))}`);
  const [, second, , last] = samples as [(typeof samples)[0], (typeof samples)[0], (typeof samples)[0], (typeof samples)[0]];
  assert.ok(last.keys <= second.keys * 1.05 + 20, `keys stopped growing: ${second.keys} after ${second.runs} runs, ${last.keys} after ${last.runs}`);
  assert.ok(last.memory <= second.memory * 1.1, `used_memory stopped growing: ${second.memory} after ${second.runs} runs, ${last.memory} after ${last.runs}`);
  // What is left: at most the configured counts of finished jobs per queue.
  assert.ok((await runs.getCompletedCount()) <= 50, 'completed runs-queue jobs capped');
  assert.ok((await runs.getFailedCount()) <= 20 && (await runs.getFailedCount()) > 0, 'failed finalize jobs kept (capped), visible to queue tools');
  // The sweep (workers run it hourly) removes finished jobs past their age: here every one.
  const before = (await runs.getCompletedCount()) + (await runs.getFailedCount());
  assert.equal(await sweepQueue(runs, { ...retention, completed: { ageS: 0, count: 0 }, failed: { ageS: 0, count: 0 } }), before);
  assert.equal((await runs.getCompletedCount()) + (await runs.getFailedCount()), 0);
});
