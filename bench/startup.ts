/**
 * Worker start-up: the time from spawning `nightshift worker` (the compiled build, a real child
 * process) to its first shard scored, for a run that was triggered before the worker started.
 * Issue #5 target: under 1 s with a warm model cache.
 *
 * "Warm model cache": workers keep no model cache on disk; a worker reads the model through the
 * object store once per process and keeps the bytes and sessions in memory (worker/scorer-cache.ts).
 * Warm here means what a machine that ran the job before has: the model is a local file
 * (file:// URI) already read once, so it and dist/ and node_modules are in the OS page cache.
 * One unmeasured run does that reading first. An s3:// model adds one GET of the model to the plan.
 *
 * Input: one CSV of `rows` rows × 32 features (one shard), the 32 → 64 → 1 MLP of `npm run bench`.
 *
 *   npm run build && npx tsx bench/startup.ts                 # 40,000 rows, 5 repeats
 *   npx tsx bench/startup.ts --rows 1000 --repeats 9
 *   npx tsx bench/startup.ts --root ../other-checkout     # that checkout's build (compare two)
 *
 * Where the time goes, from observable stamps: the spawn (this process's clock), the worker's
 * "worker ready" log line (its ISO time and the "startup ms:" marks since its process began:
 * modules loaded, Redis checked, ready), and the BullMQ timestamps of the plan and shard jobs.
 * Needs Redis (NIGHTSHIFT_TEST_REDIS_URL, default redis://127.0.0.1:6379) and a built dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { isMain } from '../scripts/is-main.js';
import { planJobId, shardJobId } from '../src/queue/names.js';
import { shardName } from '../src/run/output-layout.js';
import { loadJobFile, type LoadedJob } from '../src/spec/load-spec.js';
import { ChildHandle, openQueueHarness, REDIS_URL, REPO_ROOT, type QueueHarness } from '../test/helpers/workers.js';

const FEATURES = 32;
/** Issue #5: spawn → first shard scored, warm model cache. */
export const STARTUP_TARGET_MS = 1_000;

export interface StartupBenchOptions {
  /** Rows of the one input file (default 40,000). */
  readonly rows?: number;
  /** Measured runs, after one unmeasured warm-up run (default 5). */
  readonly repeats?: number;
  /** Extra environment for the worker (e.g. NIGHTSHIFT_INFERENCE=main). */
  readonly env?: Record<string, string>;
  /** The checkout whose bin/nightshift.js runs (default this one): to compare two builds. */
  readonly root?: string;
  readonly log?: (line: string) => void;
}

/**
 * One start-up, in ms, each phase from the end of the previous one. `node` is spawn → the
 * worker's process clock origin (Node's own boot), `modules` → its CLI modules loaded, `redis`
 * → the Redis checks done, `ready` → the BullMQ workers connected; undefined when the worker's
 * ready line has no "startup ms:" marks (older builds: then `ready` counts from the spawn).
 */
export interface StartupSample {
  readonly node: number | undefined;
  readonly modules: number | undefined;
  readonly redis: number | undefined;
  readonly ready: number;
  /** Ready → plan job taken. */
  readonly planWait: number;
  readonly plan: number;
  /** Plan done → first shard taken. */
  readonly shardWait: number;
  readonly shard: number;
  /** Spawn → first shard done: the figure the target is about. */
  readonly total: number;
  /** First shard done → run succeeded (finalize; outside the target). */
  readonly finalize: number;
  /**
   * CPU ms the worker process used (all its threads) from spawn to the run's end: steadier than
   * the wall figures on a busy machine. Undefined where /proc is not readable.
   */
  readonly cpu: number | undefined;
}

export interface StartupBenchResult {
  readonly rows: number;
  readonly samples: StartupSample[];
  /** Per phase, the median over the samples (so the phases need not add up to `total`). */
  readonly median: { readonly [K in keyof StartupSample]: number | undefined };
  readonly targetMs: number;
}

export async function runStartupBench(options: StartupBenchOptions = {}): Promise<StartupBenchResult> {
  const rows = options.rows ?? 40_000;
  const repeats = options.repeats ?? 5;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const root = options.root ?? REPO_ROOT;
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js')))
    throw new Error(`no ${root}/dist: run \`npm run build\` first (the bench measures the compiled worker)`);
  // Node reads that file when a process starts, before any of nightshift's code: here (a sandbox
  // that sets it to the system bundle) ~0.1 s of the worker's CPU, counted in "modules".
  if (process.env.NODE_EXTRA_CA_CERTS && options.env?.NODE_EXTRA_CA_CERTS === undefined)
    log(`note: NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): each worker reads it as it starts; NODE_EXTRA_CA_CERTS= measures without`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-startup-'));
  try {
    const job = await writeWorkload(dir, rows);
    const samples: StartupSample[] = [];
    for (let i = 0; i <= repeats; i++) {
      const sample = await measureOnce(root, job, `2026-11-${String(i + 1).padStart(2, '0')}`, rows, options.env ?? {});
      if (i === 0) {
        log(`warm-up: ${sample.total} ms (not counted)`);
        continue;
      }
      log(`run ${i}: ${describe(sample)}`);
      samples.push(sample);
    }
    const keys = Object.keys(samples[0] ?? {}) as (keyof StartupSample)[];
    const median = Object.fromEntries(keys.map((k) => [k, medianOf(samples.map((s) => s[k]))])) as StartupBenchResult['median'];
    return { rows, samples, median, targetMs: STARTUP_TARGET_MS };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A job on local files: the model next to the spec, one CSV per logical date (same rows). */
async function writeWorkload(dir: string, rows: number): Promise<LoadedJob> {
  await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features: FEATURES, hidden: 64, seed: 32 }));
  await writeSampleCsv(path.join(dir, 'data.csv'), { rows, features: FEATURES, seed: 1, decimals: 4 });
  const spec = {
    name: 'bench-startup',
    model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: featureNames(FEATURES) }], outputs: [{ name: 'score', columns: ['score'] }] },
    input: { uri: 'data.csv', id: ['txn_id'], passthrough: ['merchant'] },
    output: { uri: 'out/{{date}}/' },
    limits: { maxErrorRate: 0 },
  };
  const file = path.join(dir, 'job.yaml');
  await writeFile(file, stringify(spec));
  return loadJobFile(file);
}

/** Triggers a run, then spawns a worker on the same prefix and times it to the first shard. */
async function measureOnce(root: string, job: LoadedJob, date: string, rows: number, env: Record<string, string>): Promise<StartupSample> {
  const h = await openQueueHarness();
  try {
    const trig = await h.trigger(job, date);
    const spawnedAt = Date.now();
    const worker = spawnBuiltWorker(root, h, env);
    const rec = await h.waitForRun(trig.runId, trig.attempt, { timeoutMs: 60_000 });
    if (rec.status !== 'succeeded' || !rec.finishedAt) throw new Error(`run ${rec.status}: ${rec.reason ?? ''}\n${h.logs()}`);
    if (rec.rowsScored !== rows) throw new Error(`scored ${rec.rowsScored} of ${rows} rows`);
    const plan = await h.runs.getJob(planJobId(trig.runId, trig.attempt));
    const shard = await h.shards.getJob(shardJobId(trig.runId, trig.attempt, shardName(0)));
    if (!plan?.processedOn || !plan.finishedOn || !shard?.processedOn || !shard.finishedOn) throw new Error(`plan or shard job has no timestamps\n${h.logs()}`);
    const cpu = processCpuMs(worker.pid);
    // A clean stop, so a worker started with --cpu-prof (NIGHTSHIFT_CHILD_NODE_ARGS) writes its profile.
    worker.signal('SIGTERM');
    await worker.waitForExit(30_000);
    const ready = readyLine(worker.output);
    const marks = ready.marks;
    const origin = marks ? ready.at - marks.ready : undefined;
    return {
      node: origin === undefined ? undefined : origin - spawnedAt,
      modules: marks?.modules,
      redis: marks ? marks.redis - marks.modules : undefined,
      ready: marks ? marks.ready - marks.redis : ready.at - spawnedAt,
      planWait: plan.processedOn - ready.at,
      plan: plan.finishedOn - plan.processedOn,
      shardWait: shard.processedOn - plan.finishedOn,
      shard: shard.finishedOn - shard.processedOn,
      total: shard.finishedOn - spawnedAt,
      finalize: Date.parse(rec.finishedAt) - shard.finishedOn,
      cpu,
    };
  } finally {
    await h.close();
  }
}

/** `node bin/nightshift.js worker`, as installed; killed when the harness closes. */
function spawnBuiltWorker(root: string, h: QueueHarness, extra: Record<string, string>): ChildHandle {
  const env: NodeJS.ProcessEnv = { ...process.env, NIGHTSHIFT_REDIS_URL: REDIS_URL, NIGHTSHIFT_REDIS_PREFIX: h.prefix, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS; // tsx's loader must not leak into the compiled worker
  // Extra node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.NIGHTSHIFT_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, 'bin/nightshift.js', 'worker'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = new ChildHandle(`worker ${child.pid ?? '?'}`, child);
  h.workers.push(handle);
  return handle;
}

/** The ISO time of "worker ready" and its "startup ms: modules M, redis R, ready Y" marks. */
function readyLine(output: string): { at: number; marks: { modules: number; redis: number; ready: number } | undefined } {
  const line = output.split('\n').find((l) => l.includes('worker ready'));
  // Workers log JSON lines when stderr is not a terminal (pino: "time" is ISO); else "<ISO> msg".
  const at = line ? Date.parse(line.startsWith('{') ? String((JSON.parse(line) as { time?: unknown }).time) : line.slice(0, line.indexOf(' '))) : NaN;
  if (!line || Number.isNaN(at)) throw new Error(`no timestamped "worker ready" line in the worker's output:\n${output}`);
  const m = /startup ms: modules (\d+), redis (\d+), ready (\d+)/.exec(line);
  return { at, marks: m ? { modules: Number(m[1]), redis: Number(m[2]), ready: Number(m[3]) } : undefined };
}

/** utime + stime of a live process (all threads), from /proc (Linux), in ms. */
function processCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function medianOf(values: (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : Math.round(((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2);
}

const PHASES: readonly [keyof StartupSample, string][] = [
  ['node', 'spawn → node running'],
  ['modules', '→ CLI modules loaded'],
  ['redis', '→ Redis checks done'],
  ['ready', '→ worker ready'],
  ['planWait', '→ plan job taken'],
  ['plan', '→ plan done'],
  ['shardWait', '→ first shard taken'],
  ['shard', '→ first shard scored'],
];

function describe(s: StartupSample): string {
  return `${s.total} ms to the first shard (${PHASES.map(([k]) => `${k} ${s[k] ?? '?'}`).join(', ')}; finalize ${s.finalize}; worker CPU ${s.cpu ?? '?'} ms to the run's end)`;
}

export function startupTable(r: StartupBenchResult): string {
  const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v} ms`).padStart(9);
  return [
    `worker start-up, ${r.rows.toLocaleString('en-US')}-row shard, warm model (median of ${r.samples.length}):`,
    ...PHASES.map(([k, label]) => `  ${label.padEnd(24)} ${ms(r.median[k])}`),
    `  ${'spawn → first shard'.padEnd(24)} ${ms(r.median.total)}   (target < ${r.targetMs} ms)   runs: ${r.samples.map((s) => s.total).join(', ')}`,
    `  ${'(then finalize)'.padEnd(24)} ${ms(r.median.finalize)}`,
    `  ${'worker CPU, spawn → end'.padEnd(24)} ${ms(r.median.cpu)}   (all threads; steadier than wall time under load)`,
  ].join('\n');
}

if (await isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '40000' },
      repeats: { type: 'string', default: '5' },
      root: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const rows = Number(values.rows);
  const repeats = Number(values.repeats);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(repeats) || repeats < 1) {
    process.stderr.write(`--rows and --repeats: expected positive integers, found "${values.rows}" and "${values.repeats}"\n`);
    process.exitCode = 2;
  } else {
    const result = await runStartupBench({ rows, repeats, ...(values.root ? { root: path.resolve(values.root) } : {}) });
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${startupTable(result)}\n`);
  }
}
