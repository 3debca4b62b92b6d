/**
 * Real worker processes on real Redis for the distributed tests (and the distributed bench):
 * spawn `nightshift worker` processes on a test's own key prefix, signal or kill them, wait on
 * run states in the registry, and remove every key of the prefix afterwards. Every wait polls
 * with a short interval under an overall timeout; nothing sleeps for a fixed time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { RUNS_QUEUE, SHARDS_QUEUE, shardJobId } from '../../src/queue/names.js';
import { RunRegistry, type RunRecord, type RunState } from '../../src/queue/run-registry.js';
import { triggerRun, type TriggerResult } from '../../src/queue/trigger.js';
import { shardName } from '../../src/run/output-layout.js';
import type { LoadedJob } from '../../src/spec/load-spec.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared Redis the suite runs against (one random key prefix per test). */
export const REDIS_URL = process.env.NIGHTSHIFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TERMINAL: readonly RunState[] = ['succeeded', 'failed', 'skipped', 'held'];

export function randomPrefix(label = 'nst'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Extra context for the timeout message (last state seen, worker logs). */
  readonly detail?: () => string | Promise<string>;
}

/** Polls `probe` until it returns a value other than undefined; throws after the timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const detail = options.detail ? `\n${await options.detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every child still running; killed if the test process ends without cleaning up. */
const live = new Set<ChildProcess>();
const killLive = (): void => {
  for (const c of live) c.kill('SIGKILL');
};
process.once('exit', killLive);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  // Orphaned workers would idle on Redis forever; kill them, then let the signal do its work.
  process.once(sig, () => {
    killLive();
    process.kill(process.pid, sig);
  });
}

/** A child process whose stdout and stderr are captured together. */
export class ChildHandle {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  exit: ProcessExit | undefined;
  private text = '';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = child.pid;
    live.add(child);
    const append = (b: Buffer): void => void (this.text += b.toString('utf8'));
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Waits until the output matches; fails early if the process exits first. */
  async waitForOutput(re: RegExp, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `${this.name} output ${re}`,
      () => {
        if (re.test(this.text)) return true;
        if (!this.running) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${re}:\n${this.text}`);
        return undefined;
      },
      { timeoutMs, detail: () => this.text },
    );
  }

  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    return waitFor(`${this.name} to exit`, () => this.exit, { timeoutMs, detail: () => this.text });
  }

  /** SIGKILL unless already gone; resolves once the process has exited. */
  async kill(): Promise<ProcessExit> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

export interface WorkerSpawnOptions {
  readonly prefix: string;
  readonly redisUrl?: string;
  /** NIGHTSHIFT_* and AWS_* settings for this worker. */
  readonly env?: Record<string, string>;
  /** Wait for "worker ready" (default true). */
  readonly waitReady?: boolean;
  /** Run the compiled build (bin/nightshift.js → dist/, needs `npm run build`) instead of the sources. */
  readonly compiled?: boolean;
  /** The checkout or build whose compiled CLI runs (default: this repo). */
  readonly root?: string;
  /** Modules (absolute paths) the process imports before the CLI, e.g. EVENT_LOOP_PROBE; sources only. */
  readonly preload?: readonly string[];
}

/**
 * Starts `node --import tsx src/cli/main.ts <args>` in the repo, as an operator would; with
 * `compiled`, `node bin/nightshift.js <args>` (benchmarks measure what users run).
 */
export function spawnCli(
  args: readonly string[],
  options: { prefix: string; redisUrl?: string; env?: Record<string, string>; compiled?: boolean; root?: string; preload?: readonly string[] },
): ChildHandle {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A nightshift process is not a test file: keep node:test's child marker out of its env.
  delete env.NODE_TEST_CONTEXT;
  Object.assign(env, {
    NIGHTSHIFT_REDIS_URL: options.redisUrl ?? REDIS_URL,
    NIGHTSHIFT_REDIS_PREFIX: options.prefix,
    ...options.env,
  });
  if (options.compiled && options.preload?.length) throw new Error('spawnCli: preload needs the sources (tsx), not the compiled build');
  const preload = (options.preload ?? []).flatMap((m) => ['--import', pathToFileURL(m).href]);
  const entry = options.compiled ? ['bin/nightshift.js'] : ['--import', 'tsx', ...preload, 'src/cli/main.ts'];
  // Extra node flags for profiling benches, e.g. "--cpu-prof --cpu-prof-dir=.scratch/prof" (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.NIGHTSHIFT_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...entry, ...args], { cwd: options.root ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ChildHandle(`${args[0] ?? 'nightshift'} ${child.pid ?? '?'}`, child);
}

/** Starts `nightshift worker`; by default resolves once it has said "worker ready". */
export async function spawnWorker(options: WorkerSpawnOptions): Promise<ChildHandle> {
  const handle = spawnCli(['worker'], options);
  if (options.waitReady !== false) await handle.waitForOutput(/worker ready/, 30_000);
  return handle;
}

// ---------------------------------------------------------------------------
// Redis: a queue harness per test, and spare servers
// ---------------------------------------------------------------------------

export interface QueueHarness {
  readonly prefix: string;
  readonly redis: Redis;
  readonly runs: Queue;
  readonly shards: Queue;
  readonly registry: RunRegistry;
  /** Worker and CLI processes started through the harness. */
  readonly workers: ChildHandle[];
  /** Starts a worker on this harness's prefix; it is killed when the harness closes. */
  spawnWorker(env?: Record<string, string>, options?: { preload?: readonly string[] }): Promise<ChildHandle>;
  /** Runs another CLI command (trigger, runs…) on this harness's prefix. */
  cli(args: readonly string[], env?: Record<string, string>): ChildHandle;
  trigger(job: LoadedJob, date: string, options?: { rerun?: boolean }): Promise<TriggerResult>;
  /** Polls the registry until the attempt reaches one of `states` (default: any final state). */
  waitForRun(runId: string, attempt: string, options?: { states?: readonly RunState[]; timeoutMs?: number }): Promise<RunRecord>;
  /** The BullMQ jobs of every planned shard of an attempt, in shard order. */
  shardJobs(runId: string, attempt: string): Promise<Job[]>;
  /** Worker logs, for failure messages. */
  readonly logs: () => string;
  close(): Promise<void>;
}

export async function openQueueHarness(
  prefix = randomPrefix(),
  redisUrl = REDIS_URL,
  options: { compiled?: boolean; root?: string } = {},
): Promise<QueueHarness> {
  const compiled = options.compiled ?? false;
  const root = options.root === undefined ? {} : { root: options.root };
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const runs = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  const shards = new Queue(SHARDS_QUEUE, { connection: redis, prefix });
  const registry = new RunRegistry(redis, prefix);
  const workers: ChildHandle[] = [];
  const logs = (): string => workers.map((w) => `--- ${w.name} ${w.exit ? JSON.stringify(w.exit) : 'running'}\n${w.output}`).join('\n');
  let closed = false;
  return {
    prefix,
    redis,
    runs,
    shards,
    registry,
    workers,
    logs,
    async spawnWorker(env = {}, options = {}) {
      const w = await spawnWorker({ prefix, redisUrl, env, compiled, ...root, ...options });
      workers.push(w);
      return w;
    },
    cli(args, env = {}) {
      const c = spawnCli(args, { prefix, redisUrl, env, compiled, ...root });
      workers.push(c);
      return c;
    },
    trigger: (job, date, options = {}) => triggerRun(runs, registry, job, date, options),
    async waitForRun(runId, attempt, options = {}) {
      let current = attempt;
      const states = options.states ?? TERMINAL;
      let last: RunRecord | undefined;
      return waitFor(
        `${runId} ${attempt} to reach ${states.join('|')}`,
        async () => {
          last = await registry.get(runId, current);
          // An attempt renumbered by the plan step goes on as its successor (worker/renumber-attempt.ts).
          if (last?.status === 'superseded' && last.supersededBy) {
            current = last.supersededBy;
            return undefined;
          }
          return last && states.includes(last.status) ? last : undefined;
        },
        { timeoutMs: options.timeoutMs ?? 45_000, intervalMs: 100, detail: () => `last record: ${JSON.stringify(last)}\n${logs()}` },
      );
    },
    async shardJobs(runId, attempt) {
      const rec = await registry.get(runId, attempt);
      const jobs: Job[] = [];
      for (let i = 0; i < (rec?.shards ?? 0); i++) {
        const job = await shards.getJob(shardJobId(runId, attempt, shardName(i)));
        if (!job) throw new Error(`shard job ${i} of ${runId} ${attempt} is missing`);
        jobs.push(job);
      }
      return jobs;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Workers first, or they would write keys back while the prefix is being removed.
      await Promise.all(workers.map((w) => w.kill()));
      await runs.close();
      await shards.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

/** A harness closed (workers killed, keys removed) when the test ends, pass or fail. */
export async function queueHarness(t: TestContext): Promise<QueueHarness> {
  const h = await openQueueHarness();
  t.after(() => h.close());
  return h;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RedisServer {
  readonly url: string;
  readonly process: ChildHandle;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, without persistence; `args` are extra settings. */
export async function startRedisServer(args: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const { url, handle } = await startRedisOn(port, ['--appendonly', 'no', ...args, '--daemonize', 'no']);
  return {
    url,
    process: handle,
    async stop() {
      handle.signal('SIGTERM');
      if (!(await Promise.race([handle.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5_000).unref())]))) await handle.kill();
    },
  };
}

export interface RedisProcess {
  /** redis://127.0.0.1:<port>, without the password. */
  readonly url: string;
  readonly handle: ChildHandle;
}

/** redis-server on `port` without RDB snapshots; `args` add settings. The caller kills it. */
export async function startRedisOn(port: number, args: readonly string[], password?: string): Promise<RedisProcess> {
  const auth = password === undefined ? [] : ['--requirepass', password];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...auth, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = new ChildHandle(`redis-server :${port}`, child);
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    `redis-server on port ${port}`,
    async () => {
      if (!handle.running) throw new Error(`redis-server exited: ${handle.output}`);
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(password === undefined ? {} : { password }) });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      } finally {
        probe.disconnect();
      }
    },
    { timeoutMs: 10_000 },
  );
  return { url, handle };
}
