/**
 * `npm run chaos`: what issue #10's independent chaos run did, as a script. Real `nightshift
 * worker` processes, a private redis-server with AOF, and s3rver in a process of its own behind
 * the test proxy's conditional-write layer (S3 If-Match / If-None-Match), all on loopback. Each
 * scenario starts a run (a logical date of its own) and does something unkind while it runs:
 * reruns at random moments, SIGKILLs workers in a loop, restarts Redis or the S3 endpoint,
 * fires concurrent triggers and reruns, runs `nightshift score` beside the workers. Then an
 * independent reader (plain AWS SDK, test/helpers/published-run.ts) reads _SUCCESS, fetches
 * every part it lists and checks every input row is there exactly once, the manifest's sizes
 * and row counts hold, no stray parts remain, and _report.json reconciles. Prints a table;
 * exits 1 if any scenario failed. Not part of `npm test`.
 *
 *   npm run chaos                       # every scenario once
 *   npm run chaos -- --rounds 3         # each scenario 3 times
 *   npm run chaos -- --only sigkill-loop,rerun-race
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { buildMlp } from '../scripts/models/models.js';
import type { RunRecord } from '../src/queue/run-registry.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { MLP, MLP_HEADER, mlpRows, mlpSpec, toCsv, writeJob } from '../test/helpers/jobs.js';
import { publishedRunProblems, readPublishedRun } from '../test/helpers/published-run.js';
import { ChildHandle, freePort, openQueueHarness, REPO_ROOT, startRedisOn, waitFor, type QueueHarness } from '../test/helpers/workers.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '1' }, only: { type: 'string' }, rows: { type: 'string', default: '20000' } },
});
const ROUNDS = Number(args.rounds);
const ROWS = Number(args.rows);
const FINAL = ['succeeded', 'failed', 'skipped', 'superseded'];
const WORKER_ENV = { NIGHTSHIFT_LOCK_MS: '5000', NIGHTSHIFT_STALLED_MS: '2000', NIGHTSHIFT_GRACE_MS: '5000' };
const BUCKET = 'chaos';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Services: Redis with AOF, the S3 endpoint in its own process, the conditional-write proxy.
// ---------------------------------------------------------------------------------------------

interface Services {
  readonly redisUrl: string;
  restartRedis(): Promise<void>;
  restartS3(downMs: number): Promise<void>;
  readonly proxy: FaultProxy;
  readonly client: S3Client;
  stop(): Promise<void>;
}

async function startServices(dir: string): Promise<Services> {
  const redisPort = await freePort();
  const redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--daemonize', 'no'];
  let redis = (await startRedisOn(redisPort, redisArgs)).handle;
  const s3Port = await freePort();
  const s3Dir = path.join(dir, 's3');
  const startS3 = async (): Promise<ChildHandle> => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos-s3-endpoint.ts', String(s3Port), s3Dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const h = new ChildHandle(`s3 endpoint :${s3Port}`, child);
    await h.waitForOutput(/s3 endpoint ready/, 60_000);
    return h;
  };
  let s3 = await startS3();
  const proxy = await startFaultProxy(`http://127.0.0.1:${s3Port}`);
  const client = new S3Client({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    proxy,
    client,
    async restartRedis() {
      // SHUTDOWN on SIGTERM: the AOF is complete, as after an orderly restart of the service.
      redis.signal('SIGTERM');
      await redis.waitForExit(20_000);
      redis = (await startRedisOn(redisPort, redisArgs)).handle;
    },
    async restartS3(downMs) {
      await s3.kill();
      await sleep(downMs);
      s3 = await startS3();
    },
    async stop() {
      client.destroy();
      await proxy.close();
      await s3.kill();
      redis.signal('SIGTERM');
      await redis.exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Ctx {
  readonly svc: Services;
  readonly h: QueueHarness;
  readonly job: LoadedJob;
  /** A fresh logical date with its inputs in the bucket; returns the date and the input ids. */
  newRun(): Promise<{ date: string; ids: string[] }>;
  workerEnv: Record<string, string>;
}

interface ScenarioResult {
  readonly date: string;
  readonly attempts: RunRecord[];
  readonly notes: string[];
}

type Scenario = (c: Ctx) => Promise<ScenarioResult>;

async function settle(c: Ctx, runId: string, attempts: readonly string[], timeoutMs = 300_000): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const a of attempts) out.push(await c.h.waitForRun(runId, a, { states: FINAL as never, timeoutMs }));
  return out;
}

/** Replaces a dead worker so that two are always running. */
async function keepTwoWorkers(c: Ctx): Promise<void> {
  const alive = c.h.workers.filter((w) => w.running && w.name.startsWith('worker'));
  for (let i = alive.length; i < 2; i++) await c.h.spawnWorker(c.workerEnv);
}

const SCENARIOS: Record<string, Scenario> = {
  /** The issue's sequence: trigger, then --rerun while a1 runs (random delay). */
  async 'rerun-race'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    await sleep(Math.random() * 3_000);
    const b = await c.h.trigger(c.job, date, { rerun: true });
    return {
      date,
      attempts: await settle(c, a.runId, [a.attempt, b.attempt]),
      notes: [
        b.waitsFor
          ? `rerun waited for ${b.waitsFor.attempt} (${b.waitsFor.status})`
          : b.supersedes
            ? `rerun overtook queued ${b.supersedes}`
            : 'a1 had finished',
      ],
    };
  },
  /** A rerun while a1 is finalizing, then two more reruns at once. */
  async 'rerun-in-finalize'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    const seen = await waitFor(
      'finalizing',
      async () => {
        const s = (await c.h.registry.get(a.runId, a.attempt))?.status;
        return s === 'finalizing' || (s && FINAL.includes(s)) ? s : undefined;
      },
      { intervalMs: 5, timeoutMs: 300_000 },
    );
    const reruns = await Promise.all([1, 2, 3].map(() => c.h.trigger(c.job, date, { rerun: true })));
    return { date, attempts: await settle(c, a.runId, [a.attempt, ...reruns.map((r) => r.attempt)]), notes: [`reruns came while a1 was ${seen}`] };
  },
  /** SIGKILL a random worker every 2-4 s (and start a new one) until the run ends. */
  async 'sigkill-loop'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    let kills = 0;
    for (;;) {
      const rec = await c.h.registry.get(a.runId, a.attempt);
      if (rec && FINAL.includes(rec.status)) break;
      await sleep(2_000 + Math.random() * 2_000);
      const alive = c.h.workers.filter((w) => w.running && w.name.startsWith('worker'));
      const victim = alive[Math.floor(Math.random() * alive.length)];
      if (victim && kills < 6) {
        await victim.kill();
        kills++;
        await keepTwoWorkers(c);
      }
    }
    return { date, attempts: await settle(c, a.runId, [a.attempt]), notes: [`${kills} workers SIGKILLed`] };
  },
  /** Restart Redis (AOF) mid-run, and once more with a rerun queued behind the run. */
  async 'redis-restart'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    await waitFor('running', async () => ((await c.h.registry.get(a.runId, a.attempt))?.status === 'running' ? true : undefined), { timeoutMs: 120_000 });
    await c.svc.restartRedis();
    const b = await c.h.trigger(c.job, date, { rerun: true });
    await sleep(1_000);
    await c.svc.restartRedis();
    return { date, attempts: await settle(c, a.runId, [a.attempt, b.attempt]), notes: ['Redis restarted twice'] };
  },
  /** Kill the S3 endpoint mid-run for 3 s, with a rerun fired while it is down. */
  async 's3-restart'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    await waitFor('running', async () => ((await c.h.registry.get(a.runId, a.attempt))?.status === 'running' ? true : undefined), { timeoutMs: 120_000 });
    const down = c.svc.restartS3(3_000);
    await sleep(500);
    const b = await c.h.trigger(c.job, date, { rerun: true });
    await down;
    return { date, attempts: await settle(c, a.runId, [a.attempt, b.attempt]), notes: ['S3 endpoint down 3 s'] };
  },
  /** 20 concurrent triggers and 3 concurrent reruns of one run. */
  async 'concurrent-triggers'(c) {
    const { date } = await c.newRun();
    const triggers = await Promise.all(Array.from({ length: 20 }, () => c.h.trigger(c.job, date)));
    const created = triggers.filter((t) => t.created);
    await sleep(Math.random() * 2_000);
    const reruns = await Promise.all([1, 2, 3].map(() => c.h.trigger(c.job, date, { rerun: true })));
    const attempts = [...new Set([...triggers, ...reruns].map((t) => t.attempt))];
    return { date, attempts: await settle(c, triggers[0]?.runId ?? '', attempts), notes: [`${created.length} of 20 triggers created the run`] };
  },
  /** `nightshift score` in-process on the same run while the workers run it and a rerun. */
  async 'score-beside-workers'(c) {
    const { date } = await c.newRun();
    const a = await c.h.trigger(c.job, date);
    const score = c.h.cli(['score', c.job.file, '--date', date], c.workerEnv);
    await sleep(Math.random() * 2_000);
    const b = await c.h.trigger(c.job, date, { rerun: true });
    const exit = await score.waitForExit(300_000);
    const superseded = /was not published/.test(score.output);
    return {
      date,
      attempts: await settle(c, a.runId, [a.attempt, b.attempt]),
      notes: [`score exit ${exit.code}${superseded ? ' (superseded, nothing published)' : ''}`],
    };
  },
};

// ---------------------------------------------------------------------------------------------

interface Row {
  scenario: string;
  attempts: string;
  published: string;
  rows: string;
  parts: string;
  report: string;
  ok: boolean;
  seconds: number;
  notes: string;
}

async function verify(c: Ctx, scenario: string, ids: readonly string[], r: ScenarioResult, seconds: number): Promise<Row> {
  const prefix = `out/${r.date}/`;
  const run = await readPublishedRun(c.svc.client, BUCKET, prefix);
  const problems = publishedRunProblems(run, ids);
  const report = JSON.parse(
    Buffer.from(await (await c.svc.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}_report.json` }))).Body!.transformToByteArray()).toString(
      'utf8',
    ),
  ) as { attempt: string; status: string; rows: { read: number; scored: number; rejected: number; reconciled: boolean } };
  if (report.attempt !== run.attempt) problems.push(`_report.json is ${report.attempt}'s, _SUCCESS ${run.attempt}'s`);
  if (!report.rows.reconciled || report.rows.read !== ids.length || report.rows.read !== report.rows.scored + report.rows.rejected)
    problems.push(`report rows ${JSON.stringify(report.rows)}`);
  const published = r.attempts.filter((a) => a.status === 'succeeded');
  // Attempts that succeeded ran one at a time.
  const ordered = [...published].sort((x, y) => (x.startedAt ?? '').localeCompare(y.startedAt ?? ''));
  for (let i = 1; i < ordered.length; i++)
    if ((ordered[i]?.startedAt ?? '') < (ordered[i - 1]?.finishedAt ?? ''))
      problems.push(`${ordered[i]?.attempt} started before ${ordered[i - 1]?.attempt} finished`);
  if (problems.length) log(`${scenario} ${r.date}: ${problems.join('; ')}`);
  return {
    scenario,
    attempts: r.attempts.map((a) => `${a.attempt.slice(0, 2)} ${a.status}`).join(', '),
    published: run.attempt?.slice(0, 2) ?? '-',
    rows: `${new Set(run.ids).size}/${ids.length}${run.ids.length !== new Set(run.ids).size ? ` (${run.ids.length - new Set(run.ids).size} dup)` : ''}`,
    parts: `${run.parts.length - run.missing.length}/${run.parts.length}`,
    report: report.rows.reconciled ? 'reconciled' : 'NOT reconciled',
    ok: problems.length === 0,
    seconds,
    notes: [...r.notes, ...problems].join('; '),
  };
}

function table(rows: readonly Row[]): string {
  const head = ['scenario', 'attempts (final state)', 'published', 'rows once / input', 'parts present', '_report.json', 'verdict', 's', 'what happened'];
  const body = rows.map((r) => [r.scenario, r.attempts, r.published, r.rows, r.parts, r.report, r.ok ? 'PASS' : 'FAIL', r.seconds.toFixed(0), r.notes]);
  const lines = [head, head.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-chaos-'));
  const svc = await startServices(dir);
  let h: QueueHarness | undefined;
  try {
    await svc.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await svc.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'models/model.onnx', Body: buildMlp(MLP) }));
    const spec = mlpSpec();
    spec.name = 'chaos';
    spec.model.uri = `s3://${BUCKET}/models/model.onnx`;
    spec.input.uri = `s3://${BUCKET}/in/{{date}}/`;
    spec.output.uri = `s3://${BUCKET}/out/{{date}}/`;
    // Two large objects cut into byte-range shards and a small one: ~10 shards a run.
    const job = await writeJob(dir, { ...spec, input: { ...spec.input, shardBytes: 256 * 1024 }, limits: { batchRows: 1024, maxErrorRate: 0.01 } });
    h = await openQueueHarness(undefined, svc.redisUrl);
    const workerEnv = {
      ...WORKER_ENV,
      NIGHTSHIFT_S3_ENDPOINT: svc.proxy.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    };
    let day = 0;
    const ctx: Ctx = {
      svc,
      h,
      job,
      workerEnv,
      async newRun() {
        const date = new Date(Date.UTC(2026, 0, 1 + day++)).toISOString().slice(0, 10);
        const ids: string[] = [];
        for (const [i, share] of [0.1, 0.45, 0.45].entries()) {
          const rows = mlpRows(Math.round(ROWS * share), { idPrefix: `${date}-${i}-`, seed: day * 10 + i });
          ids.push(...rows.map((r) => r[0] ?? ''));
          await svc.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `in/${date}/obj-${i}.csv`, Body: toCsv(MLP_HEADER, rows) }));
        }
        return { date, ids };
      },
    };
    await keepTwoWorkers(ctx);
    const only = args.only?.split(',');
    const rows: Row[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        if (only && !only.includes(name)) continue;
        log(`${name} (round ${round + 1})`);
        const started = Date.now();
        let idsOf: string[] = [];
        const wrapped: Ctx = {
          ...ctx,
          newRun: async () => {
            const r = await ctx.newRun();
            idsOf = r.ids;
            return r;
          },
        };
        try {
          await keepTwoWorkers(ctx);
          const result = await scenario(wrapped);
          rows.push(await verify(ctx, name, idsOf, result, (Date.now() - started) / 1000));
        } catch (err) {
          rows.push({
            scenario: name,
            attempts: '-',
            published: '-',
            rows: '-',
            parts: '-',
            report: '-',
            ok: false,
            seconds: (Date.now() - started) / 1000,
            notes: `error: ${(err as Error).message.split('\n')[0]}`,
          });
        }
        log(`${name}: ${rows.at(-1)?.ok ? 'PASS' : 'FAIL'}`);
      }
    }
    process.stdout.write(`\nnpm run chaos -- --rounds ${ROUNDS} (${ROWS} rows a run, 2 workers, Redis AOF + s3rver with conditional writes on loopback)\n\n`);
    process.stdout.write(table(rows));
    return rows.every((r) => r.ok) ? 0 : 1;
  } finally {
    await h?.close().catch(() => undefined);
    await svc.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
