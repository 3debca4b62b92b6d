/** `nightshift worker`: score shards from the queue until stopped. */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InferenceThread, inferenceThreadCount } from '../../model/thread-scorer.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { rootLogger } from '../../core/logger.js';
import { growHeapForStreaming } from '../../core/heap-growth.js';
import { parsePort } from '../../http/listen.js';
import type { Server } from 'node:http';

export const workerHelp = `nightshift worker [--concurrency N] [--metrics-port P [--metrics-host H]]
  Runs BullMQ workers for nightshift's queues (plan, shards, finalize) until SIGTERM/SIGINT.
  Start as many as you like, on as many machines as share the Redis and the object store.
  --concurrency  shards scored at once by this process (default: NIGHTSHIFT_CONCURRENCY or 1)
  --metrics-port serve /metrics, /healthz, /readyz (no auth) on this port (NIGHTSHIFT_METRICS_PORT);
                 --metrics-host (default 127.0.0.1; 0.0.0.0 in a container)
  Waits for Redis at start-up (logging each try) and rides out Redis restarts.
Environment: NIGHTSHIFT_REDIS_URL, NIGHTSHIFT_REDIS_PREFIX, NIGHTSHIFT_LOCK_MS (30000),
  NIGHTSHIFT_STALLED_MS (half the lock), NIGHTSHIFT_SHARD_ATTEMPTS (5), NIGHTSHIFT_GRACE_MS (30000),
  NIGHTSHIFT_INFERENCE (thread | main: where session.run executes; default thread),
  NIGHTSHIFT_SELF_CHECK_MS (30000: how often a worker that cannot reach the store re-checks),
  NIGHTSHIFT_S3_* (see README), NIGHTSHIFT_LOG_LEVEL, NIGHTSHIFT_KEEP_* (retention, see README).`;

const envSchema = z.object({
  NIGHTSHIFT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  NIGHTSHIFT_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Default: half the lock (see stalledIntervalFor). */
  NIGHTSHIFT_STALLED_MS: z.coerce.number().int().min(500).optional(),
  NIGHTSHIFT_SHARD_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  NIGHTSHIFT_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  NIGHTSHIFT_INFERENCE: z.enum(['thread', 'main']).default('thread'),
  NIGHTSHIFT_SELF_CHECK_MS: z.coerce.number().int().min(100).default(30_000),
});

export async function workerCommand(argv: string[]): Promise<number> {
  growHeapForStreaming();
  const { values } = parseArgs({
    args: argv,
    options: { concurrency: { type: 'string' }, 'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' } },
  });
  const metricsPort = parsePort(values['metrics-port'] ?? process.env.NIGHTSHIFT_METRICS_PORT, undefined, '--metrics-port');
  const env = envSchema.safeParse(process.env);
  if (!env.success) throw new UsageError(`invalid worker settings: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const lockMs = env.data.NIGHTSHIFT_LOCK_MS;
  const stalledMs = env.data.NIGHTSHIFT_STALLED_MS ?? stalledIntervalFor(lockMs);
  if (stalledMs >= lockMs)
    throw new UsageError(
      `NIGHTSHIFT_STALLED_MS (${stalledMs}) must be below NIGHTSHIFT_LOCK_MS (${lockMs}): otherwise a killed worker's shard waits up to two stalled intervals past its lock (default: half the lock)`,
    );
  const concurrency = values.concurrency ? Number(values.concurrency) : env.data.NIGHTSHIFT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency: expected a positive integer, found "${values.concurrency}"`);
  const log = rootLogger().child({ component: 'worker' });
  const stopping = new AbortController();
  // The inference threads start before the rest of the worker loads: their own start-up (a Node
  // thread, then onnxruntime: ~0.1 s) runs on another core meanwhile.
  const threads = env.data.NIGHTSHIFT_INFERENCE === 'thread' ? Array.from({ length: inferenceThreadCount(concurrency) }, () => InferenceThread.spawn()) : [];
  // A signal while Redis is not up yet stops the wait (no shards are held then).
  const stopWaiting = (): void => stopping.abort();
  process.once('SIGTERM', stopWaiting);
  process.once('SIGINT', stopWaiting);
  const [{ startWorker }, { redisSettingsFromEnv }, { retentionFromEnv }] = await Promise.all([
    import('../../worker/start-worker.js'),
    import('../../queue/redis-config.js'),
    import('../../queue/retention.js'),
  ]);
  // Start-up marks are ms since the process began (performance.now()); logged with "worker ready".
  const modulesLoadedMs = performance.now();
  let ops: Server | undefined;
  const worker = await startWorker({
    redis: redisSettingsFromEnv(),
    retention: retentionFromEnv(),
    concurrency,
    lockDurationMs: lockMs,
    stalledIntervalMs: stalledMs,
    shardAttempts: env.data.NIGHTSHIFT_SHARD_ATTEMPTS,
    graceMs: env.data.NIGHTSHIFT_GRACE_MS,
    selfCheckMs: env.data.NIGHTSHIFT_SELF_CHECK_MS,
    inference: env.data.NIGHTSHIFT_INFERENCE,
    inferenceThreads: threads,
    log,
    signal: stopping.signal,
    ...(metricsPort === undefined
      ? {}
      : {
          queueGauges: true,
          // Up before Redis is: /readyz says "not ready" while the worker waits for it, and while
          // its storage credentials are refused.
          onConnection: async (connection, state) => {
            const [{ startOpsServer }, { redisChecks }] = await Promise.all([import('../../http/ops-server.js'), import('../../http/health.js')]);
            ops = await startOpsServer(
              metricsPort,
              values['metrics-host'] ?? process.env.NIGHTSHIFT_METRICS_HOST ?? '127.0.0.1',
              {
                ...redisChecks(connection),
                storage: async () => {
                  const st = state();
                  return st && !st.ready ? `not taking jobs: ${st.reason ?? 'storage check failing'}` : undefined;
                },
              },
              log,
            );
          },
        }),
    modulesLoadedMs,
  }).catch((err: unknown) => {
    ops?.close();
    if (stopping.signal.aborted) return undefined;
    throw err;
  });
  if (!worker) {
    await Promise.all(threads.map((t) => t.terminate()));
    return EXIT.ok;
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) void worker.shutdown(sig);
    else worker.forceExit();
  };
  process.off('SIGTERM', stopWaiting);
  process.off('SIGINT', stopWaiting);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Not closed cleanly (Redis unreachable): its connections would keep reconnecting, and the
  // process alive, forever.
  const clean = await worker.closed;
  ops?.close();
  if (!clean) process.exit(EXIT.internal);
  return EXIT.ok;
}

/**
 * BullMQ's stalled check, from the lock: a killed worker's lock lapses within the lock time, and
 * the next check after that (every `stalled` ms) puts its shard back, so recovery takes at most
 * lock + stalled. The check only moves jobs it saw active at the check before, so a check
 * interval near or above the lock stretches that to lock + 2 × stalled or more.
 */
export function stalledIntervalFor(lockMs: number): number {
  return Math.max(500, Math.floor(lockMs / 2));
}
