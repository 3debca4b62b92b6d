/**
 * A worker process: BullMQ workers for the runs queue (plan, finalize) and the shards queue.
 * Shutdown is two-phase: the first signal stops taking jobs and lets active shards finish
 * within the grace period (then hands them back); a second signal exits at once. Resources are
 * released in reverse order of acquisition.
 */
import type { Job } from 'bullmq';
import type { ShardResult } from '../core/types.js';
import { FlowProducer, Queue, Worker, type Redis } from '../queue/bullmq.js';
import { type InferenceThread, inferenceThreadCount } from '../model/thread-scorer.js';
import { RUNS_QUEUE, SHARDS_QUEUE } from '../queue/names.js';
import { toBullmqError } from '../queue/outcomes.js';
import { checkEvictionPolicy } from '../queue/redis-check.js';
import { checkClusterMode, connectWithBackoff, createRedis, type RedisSettings } from '../queue/redis-config.js';
import { RunRegistry } from '../queue/run-registry.js';
import { DEFAULT_RETENTION, jobRetentionOptions, queueRetentionOptions, sweepQueue, type Retention } from '../queue/retention.js';
import type { Logger } from '../core/logger.js';
import { RunTurns } from '../queue/run-turns.js';
import { Stores } from '../storage/stores.js';
import type { WorkerContext } from './context.js';
import { processPlan } from './process-plan.js';
import { processShard } from './process-shard.js';
import { ScorerCache } from './scorer-cache.js';
import { handBackOrFail } from './hand-back.js';
import { type ReadinessState, WorkerReadiness } from './readiness.js';
import { parseLocation } from '../spec/uri.js';
import { errorMessage } from '../core/errors.js';
import { randomBytes } from 'node:crypto';

export interface WorkerOptions {
  readonly redis: RedisSettings;
  /** Shards scored at once by this process. */
  readonly concurrency: number;
  /** How long a job's lock lasts without renewal; a killed worker's shard is retried after it. */
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly shardAttempts: number;
  readonly graceMs: number;
  /** How often a worker that is not ready (an AccessError) checks whether its configuration works again. */
  readonly selfCheckMs: number;
  /** Where session.run executes: worker threads (default) or the main thread. */
  readonly inference: 'main' | 'thread';
  /** Inference threads already started, taken by the first model's pool (the CLI starts them before it loads the worker; others can leave this out). */
  readonly inferenceThreads?: readonly InferenceThread[];
  readonly log: Logger;
  /** Stops a worker still waiting for Redis at start-up. */
  readonly signal?: AbortSignal;
  /** Job and run-record retention (default: DEFAULT_RETENTION). */
  readonly retention?: Retention;
  /**
   * Called with the Redis connection before the worker waits for Redis, and a view of whether it
   * takes jobs: the CLI starts its /metrics, /healthz and /readyz listener here. A rejection
   * (metrics port in use) ends the start-up.
   */
  readonly onConnection?: (connection: Redis, state: () => ReadinessState | undefined) => Promise<void>;
  /** Report queue depth and last success per job in this process's metrics. */
  readonly queueGauges?: boolean;
  /** When the worker's modules had loaded (performance.now()), for the start-up line. */
  readonly modulesLoadedMs?: number;
}

export interface RunningWorker {
  /**
   * Resolves when the worker has shut down: true when it closed cleanly, false when Redis could
   * not be reached to close (the caller should then exit the process: connections may linger).
   */
  readonly closed: Promise<boolean>;
  shutdown(reason: string): Promise<void>;
  forceExit(): void;
  /** Whether this worker takes jobs, and why not (for health endpoints and metrics). */
  readiness(): ReadinessState;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const connection = createRedis(opts.redis, 'worker');
  // The readiness tracker exists from below; until then the state is unknown.
  const readinessRef: { get?: () => ReadinessState } = {};
  try {
    await opts.onConnection?.(connection, () => readinessRef.get?.());
    await connectWithBackoff(connection, opts.redis, opts.log, opts.signal);
  } catch (err) {
    connection.disconnect();
    throw err;
  }
  try {
    // A least-privilege ACL user has no CONFIG GET (it would reveal requirepass): say so, since
    // nothing then guards against an evicting policy but the operator.
    await checkClusterMode(connection, opts.redis);
    if ((await checkEvictionPolicy(connection)) === 'unknown')
      opts.log.warn('cannot read Redis maxmemory-policy (CONFIG GET refused): make sure it is "noeviction"');
  } catch (err) {
    // The open connection would keep the process alive: it would print the error and hang.
    connection.disconnect();
    throw err;
  }
  const redisCheckedMs = performance.now();
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const closeGauges = opts.queueGauges ? (await import('../queue/queue-metrics.js')).registerQueueGauges(connection, opts.redis.prefix) : async () => undefined;
  const stores = new Stores();
  const scorers = new ScorerCache(stores, { mode: opts.inference, threads: inferenceThreadCount(opts.concurrency), spares: opts.inferenceThreads ?? [] });
  const flow = new FlowProducer({ connection, prefix: opts.redis.prefix });
  const runsQueue = new Queue(RUNS_QUEUE, { connection, prefix: opts.redis.prefix, defaultJobOptions: jobRetentionOptions(retention) });
  const ctx: WorkerContext = {
    stores,
    registry: new RunRegistry(connection, opts.redis.prefix, retention.runRecordMs),
    turns: new RunTurns(connection, opts.redis.prefix),
    flow,
    runs: runsQueue,
    scorers,
    log: opts.log,
    prefix: opts.redis.prefix,
    shardAttempts: opts.shardAttempts,
    retention,
    lockDurationMs: opts.lockDurationMs,
    // `readiness` is created below, with the BullMQ workers it pauses; no job runs before that.
    handBack: (job, err) => handBackOrFail(job, err, readiness),
  };
  const common = {
    connection,
    prefix: opts.redis.prefix,
    lockDuration: opts.lockDurationMs,
    stalledInterval: opts.stalledIntervalMs,
    maxStalledCount: 2,
    autorun: false,
  };
  const active = new ActiveJobs();
  const wrap =
    <T>(fn: (job: Job, token: string | undefined, signal?: AbortSignal) => Promise<T>) =>
    async (job: Job, token?: string, signal?: AbortSignal): Promise<T> => {
      active.begin();
      try {
        return await fn(job, token, signal);
      } catch (err) {
        throw toBullmqError(await ctx.handBack(job, err));
      } finally {
        active.end();
      }
    };
  const runs = new Worker(
    RUNS_QUEUE,
    wrap<unknown>(async (job, token, signal) =>
      job.name === 'plan' ? processPlan(ctx, job, token, signal) : (await finalizeModule()).processFinalize(ctx, job),
    ),
    { ...common, concurrency: 2 },
  );
  const shards = new Worker(
    SHARDS_QUEUE,
    wrap((job, token, signal) => processShard(ctx, job, token, signal)),
    { ...common, concurrency: opts.concurrency },
  );
  for (const w of [runs, shards]) {
    w.on('failed', (job, err) =>
      opts.log.warn({ ...jobFields(job), err }, `${job?.name ?? 'job'} ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message}`),
    );
    // Connection errors are logged once per outage by connectWithBackoff; BullMQ repeats them here.
    w.on('error', (err) => {
      if (!isConnectionError(err)) opts.log.error({ err }, `worker error: ${err.message}`);
    });
  }
  shards.on('completed', (job, r: ShardResult) => {
    opts.log.info(
      { ...jobFields(job), outcome: 'done', rows: { read: r.rowsRead, scored: r.rowsScored, rejected: r.rowsRejected }, ms: elapsedMs(job) },
      `shard ${job.id ?? '?'} done`,
    );
    recordShard(job, 'done', r);
  });
  shards.on('failed', (job) => recordShard(job, 'failed'));
  const workerId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const readiness = new WorkerReadiness({
    redis: connection,
    prefix: opts.redis.prefix,
    id: workerId,
    selfCheckMs: opts.selfCheckMs,
    log: (line) => opts.log.warn(line),
    probe: async (uri) => {
      try {
        const loc = parseLocation(uri, '/');
        const { store, key } = stores.resolve(loc);
        // A 404 from S3 still proves the credentials work; a local path must exist.
        if (!(await store.head(key)) && loc.kind === 'file') return `${uri} does not exist on this machine`;
        return undefined;
      } catch (err) {
        return errorMessage(err);
      }
    },
    onChange: async (ready) => {
      if (ready) await Promise.all([shards.resume(), runs.resume()]);
      else await Promise.all([shards.pause(true), runs.pause(true)]);
    },
  });
  readinessRef.get = () => readiness.state;
  await readiness.start();
  runs.on('failed', (job, err) => {
    if (job)
      void finalizeModule()
        .then((m) => m.recordFinalFailure(ctx, job, err))
        .catch((e: unknown) => opts.log.error({ err: e }, `cannot record the failure of ${job.id ?? '?'}`));
  });
  void runs.run();
  void shards.run();
  const sweep = startRetentionSweeps(connection, opts.redis.prefix, retention, ctx.registry, opts.log);
  await Promise.all([runs.waitUntilReady(), shards.waitUntilReady()]);
  const modules = opts.modulesLoadedMs === undefined ? '' : `modules ${Math.round(opts.modulesLoadedMs)}, `;
  const marks = `startup ms: ${modules}redis ${Math.round(redisCheckedMs)}, ready ${Math.round(performance.now())}`;
  opts.log.info(`worker ready: concurrency ${opts.concurrency}, prefix ${opts.redis.prefix} (${marks})`);

  let closing: Promise<void> | undefined;
  let resolveClosed: (clean: boolean) => void = () => undefined;
  const closed = new Promise<boolean>((r) => (resolveClosed = r));
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      opts.log.info(`${reason}: finishing active shards (up to ${opts.graceMs} ms), taking no new ones`);
      // Bounded: with Redis down the hash field simply expires.
      await Promise.race([readiness.stop().catch(() => undefined), delay(500)]);
      const graceful = Promise.all([shards.close(), runs.close()]).then(() => true);
      graceful.catch(() => undefined);
      // Phase 1: active jobs finish, up to the grace period. An idle worker has nothing to wait
      // for; its close only needs Redis, which phase 2 bounds.
      await Promise.race([graceful, active.drained(), delay(opts.graceMs)]);
      if (active.count > 0) {
        opts.log.warn('grace period over: cancelling active shards; they go back to the queue to be retried');
        // close(true) would only return the graceful close already under way, which waits for
        // the shards to finish; aborting their signals makes them fail (and retry) now.
        shards.cancelAllJobs('worker shutdown: grace period over');
        runs.cancelAllJobs('worker shutdown: grace period over');
      }
      // Phase 2: closing needs Redis (hand-backs, the blocking connection); while Redis is down it
      // would wait forever, so it gets a bounded time and then the connections are dropped.
      const clean = await Promise.race([graceful, delay(CLOSE_TIMEOUT_MS).then(() => false)]);
      await Promise.race([Promise.allSettled([sweep.stop(), closeGauges()]), delay(500)]);
      if (!clean) {
        opts.log.warn(
          `cannot close cleanly within ${CLOSE_TIMEOUT_MS} ms (is Redis reachable?): dropping the connections; shards still held return to the queue when their locks expire`,
        );
        connection.disconnect();
        // BullMQ's disconnect waits for an 'end' that a connection still retrying may never emit.
        await Promise.race([Promise.allSettled([shards.disconnect(), runs.disconnect(), flow.disconnect(), runsQueue.disconnect()]), delay(500)]);
      } else {
        await flow.close();
        await runsQueue.close();
      }
      await scorers.close();
      stores.close();
      if (clean) await connection.quit().catch(() => connection.disconnect());
      opts.log.info(clean ? 'worker stopped' : 'worker stopped (not cleanly)');
      resolveClosed(clean);
    })();
    return closing;
  };
  return {
    closed,
    shutdown,
    readiness: () => readiness.state,
    forceExit: () => {
      opts.log.warn('second signal: exiting now');
      process.exit(130);
    },
  };
}

/** How long closing may take once no job is active (it needs Redis; it is quick when Redis is up). */
const CLOSE_TIMEOUT_MS = 3_000;

function delay(ms: number): Promise<false> {
  return new Promise((r) => setTimeout(() => r(false), ms).unref());
}

/** Jobs this process is running, so shutdown knows when nothing is left to wait for. */
class ActiveJobs {
  count = 0;
  private waiters: (() => void)[] = [];

  begin(): void {
    this.count++;
  }

  end(): void {
    this.count--;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once no job is active. */
  drained(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

/** The run fields of a BullMQ job's data, for log lines about it. */
export function jobFields(job: Job | undefined): Record<string, unknown> {
  const d = (job?.data ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['job', 'runId', 'attempt', 'shard'] as const) if (typeof d[k] === 'string') out[k] = d[k];
  if (job) out.bullJob = job.id;
  return out;
}

function isConnectionError(err: Error): boolean {
  return /ECONNREFUSED|ECONNRESET|Connection is closed|Stream isn't writeable|EPIPE|ETIMEDOUT/.test(err.message);
}

function elapsedMs(job: Job): number | undefined {
  return job.processedOn && job.finishedOn ? job.finishedOn - job.processedOn : undefined;
}

/**
 * Start-up loads only what a plan and a shard need (the "start → first shard" time users wait
 * for): the finalize step's modules (report, monitoring, publish) and the metrics library
 * (prom-client; /metrics loads it at once when served) load when first used.
 */
const finalizeModule = (): Promise<typeof import('./finalize-run.js')> => import('./finalize-run.js');

/** Shard metrics: duration by outcome; rows, bytes and stage times of a done shard. */
function recordShard(job: Job | undefined, outcome: 'done' | 'failed', r?: ShardResult): void {
  void import('../core/metrics.js').then((m) => recordShardMetrics(m, job, outcome, r));
}

function recordShardMetrics(m: typeof import('../core/metrics.js'), job: Job | undefined, outcome: 'done' | 'failed', r?: ShardResult): void {
  const { bytesRead, inferenceSeconds, readParseSeconds, rowsRejected, rowsScored, shardDuration } = m;
  const data = job?.data as { job?: unknown } | undefined;
  const name = typeof data?.job === 'string' ? data.job : 'unknown';
  const ms = job ? elapsedMs(job) : undefined;
  if (ms !== undefined) shardDuration.observe({ job: name, outcome }, ms / 1000);
  if (!r) return;
  rowsScored.inc({ job: name }, r.rowsScored);
  rowsRejected.inc({ job: name }, r.rowsRejected);
  bytesRead.inc({ job: name }, r.bytes);
  inferenceSeconds.inc({ job: name }, r.timings.inferenceMs / 1000);
  readParseSeconds.inc({ job: name }, r.timings.readParseMs / 1000);
}

/** The hourly retention sweep (first one at start-up), on its own Queue handles; see retention.ts. */
function startRetentionSweeps(connection: Redis, prefix: string, retention: Retention, registry: RunRegistry, log: Logger): { stop(): Promise<void> } {
  // Creating them also records the event-stream bound in each queue's meta, which BullMQ's scripts read.
  const queues = [RUNS_QUEUE, SHARDS_QUEUE].map((name) => new Queue(name, { connection, prefix, ...queueRetentionOptions(retention) }));
  for (const q of queues) q.on('error', () => undefined); // connection errors are logged once elsewhere
  const once = async (): Promise<void> => {
    try {
      let removed = await registry.trimIndex();
      for (const q of queues) removed += await sweepQueue(q, retention);
      if (removed > 0) log.info({ removed }, `retention sweep removed ${removed} finished job(s) and run index entries`);
    } catch (err) {
      log.warn({ err }, 'retention sweep failed; trying again in an hour');
    }
  };
  let running = once();
  const timer = setInterval(() => void (running = once()), 3_600_000).unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
