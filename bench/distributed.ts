/**
 * Distributed throughput: one large CSV (N rows × 32 features, scripts/sample-data.ts) scored by
 * the mlp-32 model (scripts/models: 32 → 64 → 1) through Redis and a loopback S3 (s3rver), first
 * with 1 worker process, then with 2, then 1 again with inference on the main thread instead of
 * worker threads (NIGHTSHIFT_INFERENCE=main). The object is cut into ≥ 8 byte-range shards, so both
 * workers have work the whole time. Wall time is the registry's triggeredAt → finishedAt: plan
 * (cuts by byte offset, run/plan-units.ts), shards and finalize, without the workers' start-up.
 * CPU seconds (workers and the S3 endpoint, which share the machine's cores) are printed too:
 * on a busy machine they, not the wall time, compare runs.
 *
 *   npx tsx bench/distributed.ts                 # 2,000,000 rows
 *   npx tsx bench/distributed.ts --rows 500000 --workers 1,2,1:main
 *
 * Needs Redis (NIGHTSHIFT_TEST_REDIS_URL, default redis://127.0.0.1:6379); uses a random key
 * prefix per measurement and removes its keys, temp files and bucket contents afterwards.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import type { Job } from 'bullmq';
import { finalizeJobId, planJobId } from '../src/queue/names.js';
import { loadJobFile } from '../src/spec/load-spec.js';
import { createBucket, startS3, storesFor, type S3Server } from '../test/helpers/s3.js';
import { openQueueHarness } from '../test/helpers/workers.js';
import { scoreInChild } from './score-in-child.js';

const DATE = '2026-11-28';
const FEATURES = 32;
const MIN_SHARDS = 8;

export interface DistributedBenchOptions {
  readonly rows: number;
  /**
   * What to measure, in order: worker process counts, each with inference on worker threads
   * (the workers' default), or `{ workers, inference: 'main' }`. Default: 1 and 2 workers, then
   * 1 worker with inference on the main thread (issue #5: threads must not cost more than they save).
   */
  readonly workers?: readonly (number | WorkerSetup)[];
  readonly seed?: number;
  readonly log?: (line: string) => void;
  /** Leave out `score` on the same rows (the figure the distributed runs are compared with). */
  readonly skipScore?: boolean;
}

export interface WorkerSetup {
  readonly workers: number;
  /** NIGHTSHIFT_INFERENCE for the workers. */
  readonly inference: 'thread' | 'main';
}

export interface WorkerFigures {
  readonly workers: number;
  readonly inference: 'thread' | 'main';
  readonly shards: number;
  readonly rows: number;
  readonly wallMs: number;
  readonly rowsPerSecond: number;
  readonly megabytesPerSecond: number;
  /** Where the wall time went (BullMQ job timestamps): the plan's split pass, the shard phase
   * (first shard start → last shard end), the finalize step; shardBusyMs sums every shard. */
  readonly phases: { readonly planMs: number; readonly shardsMs: number; readonly shardBusyMs: number; readonly finalizeMs: number };
  /**
   * CPU seconds spent from trigger to finish: by the S3 endpoint (this process: s3rver, plus
   * polling the registry) and by all worker processes (their threads included). Their sum over
   * the wall time, against the core count, says how busy the machine was. workersMainS: the
   * workers' main threads alone (parse, format, S3 and queue I/O); the rest of workersS is their
   * inference threads and V8's helper threads (concurrent GC, compilers).
   */
  readonly cpu: { readonly endpointS: number; readonly workersS: number; readonly workersMainS: number };
}

/** `nightshift score`, 1 thread, on the same rows as local files (issue #17: "on the same data"). */
export interface SameDataScore {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly rowsPerSecond: number;
}

export interface DistributedBenchResult {
  readonly rows: number;
  readonly score?: SameDataScore;
  readonly inputBytes: number;
  readonly shardBytes: number;
  readonly runs: WorkerFigures[];
  /** rows/s with the most workers ÷ rows/s with the fewest, inference on threads in both. */
  readonly speedup: number;
  /** 1-minute load average before and after: figures from a busy machine are not comparable. */
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly cpus: number;
}

export async function runDistributedBench(options: DistributedBenchOptions): Promise<DistributedBenchResult> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))))
    throw new Error('bench/distributed.ts runs the compiled workers: run `npm run build` first');
  const loadBefore = os.loadavg()[0] ?? 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-dist-'));
  let s3: S3Server | undefined;
  try {
    const csv = path.join(dir, 'in', DATE, 'data.csv');
    log(`generating ${options.rows.toLocaleString('en-US')} rows × ${FEATURES} features…`);
    await writeSampleCsv(csv, { rows: options.rows, features: FEATURES, seed: options.seed ?? 1 });
    const inputBytes = (await stat(csv)).size;
    // splitObject cuts at the first record boundary past each shardBytes mark: size/10 gives 9–10.
    const shardBytes = Math.max(64 * 1024, Math.floor(inputBytes / 10));
    const score = options.skipScore ? undefined : await scoreLocally(dir, shardBytes, options.rows);
    if (score) log(`score on the same rows, local files: ${score.seconds.toFixed(2)} s, ${Math.round(score.rowsPerSecond).toLocaleString('en-US')} rows/s`);

    s3 = await startS3();
    const bucket = await createBucket(s3, 'bench');
    const stores = storesFor(s3);
    try {
      const at = (key: string) => stores.resolve({ kind: 's3', bucket, key });
      await at('models/mlp-32.onnx').store.write('models/mlp-32.onnx', buildMlp({ features: FEATURES, hidden: 64, seed: 32 }));
      log(`uploading ${(inputBytes / 1e6).toFixed(0)} MB to s3rver…`);
      await at(`in/${DATE}/data.csv`).store.write(`in/${DATE}/data.csv`, createReadStream(csv));
    } finally {
      stores.close();
    }
    await rm(csv);

    const runs: WorkerFigures[] = [];
    const setups = (options.workers ?? [1, 2, { workers: 1, inference: 'main' }]).map((w): WorkerSetup =>
      typeof w === 'number' ? { workers: w, inference: 'thread' } : w,
    );
    for (const setup of setups) {
      const figures = await measure(s3, bucket, dir, setup, shardBytes, inputBytes, log);
      if (figures.rows !== options.rows) throw new Error(`${setup.workers} worker(s) scored ${figures.rows} rows, expected ${options.rows}`);
      if (figures.shards < MIN_SHARDS) throw new Error(`only ${figures.shards} shards; expected at least ${MIN_SHARDS}`);
      runs.push(figures);
    }
    const threaded = runs.filter((r) => r.inference === 'thread').sort((a, b) => a.workers - b.workers);
    const first = threaded[0];
    const last = threaded[threaded.length - 1];
    const speedup = first && last ? last.rowsPerSecond / first.rowsPerSecond : 1;
    const loadAverage = { before: loadBefore, after: os.loadavg()[0] ?? 0 };
    return { rows: options.rows, ...(score ? { score } : {}), inputBytes, shardBytes, runs, speedup, loadAverage, cpus: os.availableParallelism() };
  } finally {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `nightshift score` (plain node, compiled build: bench/score-child.mjs) on the same CSV as local
 * files, cut at the same shardBytes, before the endpoint starts, so the distributed figures are
 * compared with `score` on the same data.
 */
async function scoreLocally(dir: string, shardBytes: number, rows: number): Promise<SameDataScore> {
  await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features: FEATURES, hidden: 64, seed: 32 }));
  const specFile = path.join(dir, 'job-score.yaml');
  await writeFile(
    specFile,
    stringify({
      name: 'bench-score',
      model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: featureNames(FEATURES) }], outputs: [{ name: 'score', columns: ['score'] }] },
      input: { uri: 'in/{{date}}/', id: ['txn_id'], passthrough: ['merchant'], shardBytes },
      output: { uri: 'out-score/{{date}}/' },
      limits: { maxErrorRate: 0 },
    }),
  );
  try {
    const r = await scoreInChild(specFile, DATE, rows);
    return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, rowsPerSecond: rows / r.seconds };
  } finally {
    await rm(path.join(dir, 'out-score'), { recursive: true, force: true });
  }
}

async function measure(
  s3: S3Server,
  bucket: string,
  dir: string,
  setup: WorkerSetup,
  shardBytes: number,
  inputBytes: number,
  log: (line: string) => void,
): Promise<WorkerFigures> {
  const { workers, inference } = setup;
  const label = `${workers}w-${inference}`;
  const specFile = path.join(dir, `job-${label}.yaml`);
  await writeFile(
    specFile,
    stringify({
      name: 'bench-distributed',
      model: {
        uri: `s3://${bucket}/models/mlp-32.onnx`,
        inputs: [{ name: 'features', columns: featureNames(FEATURES) }],
        outputs: [{ name: 'score', columns: ['score'] }],
      },
      input: { uri: `s3://${bucket}/in/{{date}}/`, id: ['txn_id'], passthrough: ['merchant'], shardBytes },
      output: { uri: `s3://${bucket}/out-${label}/{{date}}/` },
      limits: { maxErrorRate: 0 },
    }),
  );
  const job = await loadJobFile(specFile);
  // Workers run the compiled build, as users run them (`npm run bench` builds it first).
  const h = await openQueueHarness(undefined, undefined, { compiled: true });
  try {
    const env = {
      NIGHTSHIFT_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_INFERENCE: inference,
    };
    await Promise.all(Array.from({ length: workers }, () => h.spawnWorker(env)));
    log(`${workers} worker(s) ready (inference: ${inference}); triggering`);
    const workerCpu0 = h.workers.map((w) => processCpuSeconds(w.pid));
    const mainCpu0 = h.workers.map((w) => threadCpuSeconds(w.pid, w.pid));
    const endpointCpu0 = process.cpuUsage();
    const trig = await h.trigger(job, DATE);
    const rec = await h.waitForRun(trig.runId, trig.attempt, { timeoutMs: 60 * 60_000 });
    const endpointCpu = process.cpuUsage(endpointCpu0);
    const mainS = h.workers.reduce((sum, w, i) => sum + threadCpuSeconds(w.pid, w.pid) - (mainCpu0[i] ?? 0), 0);
    const cpu = {
      endpointS: Math.round((endpointCpu.user + endpointCpu.system) / 1e4) / 100,
      workersS: Math.round(h.workers.reduce((sum, w, i) => sum + processCpuSeconds(w.pid) - (workerCpu0[i] ?? 0), 0) * 100) / 100,
      workersMainS: Math.round(mainS * 100) / 100,
    };
    if (rec.status !== 'succeeded' || !rec.finishedAt) throw new Error(`run ${rec.status}: ${rec.reason ?? ''}\n${h.logs()}`);
    const wallMs = Date.parse(rec.finishedAt) - Date.parse(rec.triggeredAt);
    const span = (j: Job | undefined): [number, number] => [j?.processedOn ?? 0, j?.finishedOn ?? 0];
    // The attempt that ran: a setup measured twice finds the first one's output and renumbers (worker/renumber-attempt.ts).
    const attempt = rec.attempt;
    const [planStart, planEnd] = span(await h.runs.getJob(planJobId(trig.runId, attempt)));
    const [finStart, finJobEnd] = span(await h.runs.getJob(finalizeJobId(trig.runId, attempt)));
    // The run record is finished inside the finalize job, which BullMQ may not have marked
    // finished yet when it is read: then the run's own finish time ends the phase.
    const finEnd = finJobEnd || Date.parse(rec.finishedAt);
    const shardSpans = (await h.shardJobs(trig.runId, attempt)).map(span);
    const phases = {
      planMs: planEnd - planStart,
      shardsMs: Math.max(...shardSpans.map((x) => x[1])) - Math.min(...shardSpans.map((x) => x[0])),
      shardBusyMs: shardSpans.reduce((sum, [a, b]) => sum + (b - a), 0),
      finalizeMs: finEnd - finStart,
    };
    const rows = rec.rowsScored ?? 0;
    const figures: WorkerFigures = {
      workers,
      inference,
      cpu,
      shards: rec.shards ?? 0,
      rows,
      wallMs,
      rowsPerSecond: Math.round((rows / wallMs) * 1000),
      megabytesPerSecond: Math.round((inputBytes / 1e6 / (wallMs / 1000)) * 10) / 10,
      phases,
    };
    log(
      `${workers} worker(s), inference ${inference}: ${(wallMs / 1000).toFixed(1)} s, ${figures.rowsPerSecond.toLocaleString('en-US')} rows/s, ${figures.megabytesPerSecond} MB/s ` +
        `(plan ${phases.planMs} ms, shards ${phases.shardsMs} ms for ${phases.shardBusyMs} ms of shard work, finalize ${phases.finalizeMs} ms; ` +
        `CPU: endpoint ${cpu.endpointS} s, workers ${cpu.workersS} s (main threads ${cpu.workersMainS} s); ${Math.round(rows / (cpu.endpointS + cpu.workersS)).toLocaleString('en-US')} rows per CPU-second)`,
    );
    // A clean stop (SIGTERM) rather than the harness's SIGKILL, so profiles (NIGHTSHIFT_CHILD_NODE_ARGS) get written.
    for (const w of h.workers) w.signal('SIGTERM');
    await Promise.all(h.workers.map((w) => w.waitForExit(30_000)));
    return figures;
  } finally {
    await h.close();
  }
}

/** utime + stime of a live process, from /proc (Linux), in seconds; 0 where unavailable. */
function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

function statCpuSeconds(file: string): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** utime + stime of one thread (`tid`) of a live process, in seconds; 0 where unavailable. */
function threadCpuSeconds(pid: number, tid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}

/** USER_HZ: 100 on Linux (sysconf(_SC_CLK_TCK) is not reachable from Node). */
const CLOCK_TICKS = 100;

function printTable(r: DistributedBenchResult): void {
  const lines = [
    `input: ${r.rows.toLocaleString('en-US')} rows × ${FEATURES} features, ${(r.inputBytes / 1e6).toFixed(1)} MB; shardBytes ${(r.shardBytes / 1e6).toFixed(1)} MB`,
    `${'workers'.padEnd(8)} ${'infer'.padEnd(6)} ${'shards'.padStart(6)} ${'wall s'.padStart(8)} ${'rows/s'.padStart(10)} ${'MB/s'.padStart(7)} ${'plan s'.padStart(7)} ${'shards s'.padStart(9)} ${'busy s'.padStart(7)} ${'CPU s'.padStart(6)} ${'rows/CPU-s'.padStart(11)}`,
    ...r.runs.map(
      (f) =>
        `${String(f.workers).padEnd(8)} ${f.inference.padEnd(6)} ${String(f.shards).padStart(6)} ${(f.wallMs / 1000).toFixed(1).padStart(8)} ${f.rowsPerSecond.toLocaleString('en-US').padStart(10)} ${f.megabytesPerSecond.toFixed(1).padStart(7)} ` +
        `${(f.phases.planMs / 1000).toFixed(1).padStart(7)} ${(f.phases.shardsMs / 1000).toFixed(1).padStart(9)} ${(f.phases.shardBusyMs / 1000).toFixed(1).padStart(7)} ` +
        `${(f.cpu.endpointS + f.cpu.workersS).toFixed(1).padStart(6)} ${Math.round(f.rows / (f.cpu.endpointS + f.cpu.workersS))
          .toLocaleString('en-US')
          .padStart(11)}`,
    ),
    ...(r.score
      ? [
          `score, 1 thread, the same rows as local files: ${r.score.seconds.toFixed(2)} s, ${Math.round(r.score.rowsPerSecond).toLocaleString('en-US')} rows/s, ${r.score.cpuSeconds.toFixed(2)} CPU s`,
        ]
      : []),
    `ratio most/fewest workers, inference on threads (rows/s): ${r.speedup.toFixed(2)} (CPU s: the S3 endpoint's and the workers', which share the cores; rows/CPU-s holds under load, rows/s does not)`,
    `machine: ${r.cpus} CPUs, 1-min load average ${r.loadAverage.before.toFixed(1)} before, ${r.loadAverage.after.toFixed(1)} after`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '2000000' }, workers: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) {
    process.stderr.write(`--rows: expected a positive integer, found "${values.rows}"\n`);
    process.exitCode = 2;
  } else {
    // --workers 1,2,1:main
    const setups = values.workers
      ?.split(',')
      .map((w): WorkerSetup => ({ workers: Number(w.split(':')[0]), inference: w.endsWith(':main') ? 'main' : 'thread' }));
    const result = await runDistributedBench({ rows, ...(setups ? { workers: setups } : {}) });
    // --json: the result on stdout, for bench/run.ts (which runs this in a process of its own).
    if (values.json) process.stdout.write(JSON.stringify(result));
    else printTable(result);
  }
}
