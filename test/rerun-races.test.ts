/**
 * Reruns racing their run (issue #10's data loss), with real parts only: two `nightshift worker`
 * processes on Redis, s3rver behind the test proxy's conditional-write layer (S3 If-Match /
 * If-None-Match, which s3rver lacks), three input objects of which two are cut into byte-range
 * shards. After every scenario an independent reader (plain AWS SDK) reads _SUCCESS, fetches
 * every part it lists and checks every input id is there exactly once.
 *
 *   node --import tsx --test test/rerun-races.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import type { RunRecord } from '../src/queue/run-registry.js';
import type { RunReport } from '../src/report/run-report.js';
import { publishRun, type PublishFence } from '../src/run/publish.js';
import { compareAttempts } from '../src/run/output-layout.js';
import { s3SettingsFromEnv } from '../src/storage/s3-config.js';
import { Stores } from '../src/storage/stores.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { MLP, MLP_HEADER, mlpRows, mlpSpec, toCsv, writeJob } from './helpers/jobs.js';
import { publishedRunProblems, readPublishedRun } from './helpers/published-run.js';
import { createBucket, putObject, startS3, type S3Server } from './helpers/s3.js';
import { openQueueHarness, spawnCli, waitFor, type QueueHarness } from './helpers/workers.js';
import type { LoadedJob } from '../src/spec/load-spec.js';

const WORKER_ENV = { NIGHTSHIFT_LOCK_MS: '4000', NIGHTSHIFT_STALLED_MS: '2000', NIGHTSHIFT_GRACE_MS: '5000' } as const;
const FINAL = ['succeeded', 'failed', 'skipped', 'superseded'] as const;

let s3: S3Server;
let proxy: FaultProxy;
let bucket: string;
let h: QueueHarness;
let job: LoadedJob;
/** Input ids per logical date (each scenario uses a date of its own: a run of its own). */
const inputIds = new Map<string, string[]>();
let dates = 0;
let dir: string | undefined;

function s3Env(): Record<string, string> {
  return { NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
}

/** A fresh logical date with 3 input objects: ~40 KB, and two of ~200 KB cut into 64 KiB shards. */
async function newDate(): Promise<string> {
  const d = new Date(Date.UTC(2026, 0, 1 + dates++)).toISOString().slice(0, 10);
  const ids: string[] = [];
  for (const [i, n] of [500, 2_500, 2_500].entries()) {
    const rows = mlpRows(n, { idPrefix: `${d}-${i}-`, seed: i + dates * 7 });
    ids.push(...rows.map((r) => r[0] ?? ''));
    await putObject(s3, bucket, `in/${d}/obj-${i}.csv`, toCsv(MLP_HEADER, rows));
  }
  inputIds.set(d, ids);
  return d;
}

before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
  bucket = await createBucket(s3, 'races');
  await putObject(s3, bucket, 'models/model.onnx', buildMlp(MLP));
  const spec = mlpSpec();
  spec.model.uri = `s3://${bucket}/models/model.onnx`;
  spec.input.uri = `s3://${bucket}/in/{{date}}/`;
  spec.output.uri = `s3://${bucket}/out/{{date}}/`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-races-'));
  job = await writeJob(dir, { ...spec, input: { ...spec.input, shardBytes: 64 * 1024 }, limits: { batchRows: 512, maxErrorRate: 0.01 } });
  h = await openQueueHarness();
  // Started without the helper's 30 s ready limit: on a busy 2-core machine start-up can take longer.
  const workers = [0, 1].map(() => spawnCli(['worker'], { prefix: h.prefix, env: { ...WORKER_ENV, ...s3Env() } }));
  h.workers.push(...workers);
  await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/, 120_000)));
});
after(async () => {
  await h?.close();
  await proxy?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function finalRecord(runId: string, attempt: string): Promise<RunRecord> {
  return h.waitForRun(runId, attempt, { states: FINAL, timeoutMs: 60_000 });
}

/** The independent check of a run's published output; returns the published attempt. */
async function assertPublishedExactlyOnce(date: string): Promise<string> {
  const run = await readPublishedRun(s3.client, bucket, `out/${date}/`);
  assert.deepEqual(publishedRunProblems(run, inputIds.get(date) ?? []), [], `${date}: published ${run.attempt}, keys ${run.keys.join(' ')}`);
  return run.attempt ?? '';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('reruns racing their run (two worker processes, S3 with conditional writes)', { timeout: 600_000 }, () => {
  it('trigger, then --rerun after a random delay while a1 runs: never two attempts at once; the newest publishes every row once', async () => {
    const iterations = Number(process.env.NIGHTSHIFT_RACE_ITERATIONS ?? 6);
    const seen = { overlapped: 0, supersededBeforeStart: 0 };
    for (let i = 0; i < iterations; i++) {
      const date = await newDate();
      const first = await h.trigger(job, date);
      await sleep(Math.floor(Math.random() * 400));
      const rerun = await h.trigger(job, date, { rerun: true });
      assert.equal(rerun.created, true);
      if (rerun.waitsFor) seen.overlapped++;
      const [r1, r2] = [await finalRecord(first.runId, first.attempt), await finalRecord(rerun.runId, rerun.attempt)];
      assert.equal(r2.status, 'succeeded', `a2: ${r2.reason ?? ''}\n${h.logs().slice(-3000)}`);
      assert.ok(r1.status === 'succeeded' || r1.status === 'superseded', `a1 ${r1.status}: ${r1.reason ?? ''}`);
      if (r1.status === 'superseded') seen.supersededBeforeStart++;
      // Never two at once: a2 started (planning) only after a1 had finished.
      if (r1.status === 'succeeded') assert.ok((r2.startedAt ?? '') >= (r1.finishedAt ?? ''), `a2 started ${r2.startedAt} before a1 finished ${r1.finishedAt}`);
      assert.equal(await assertPublishedExactlyOnce(date), rerun.attempt);
    }
    assert.ok(seen.overlapped > 0, `some reruns came while a1 was active (${JSON.stringify(seen)})`);
  });

  it('a rerun during finalize waits for it; a burst of reruns coalesces to the newest', async () => {
    const date = await newDate();
    const first = await h.trigger(job, date);
    let status = '';
    await waitFor(
      'a1 finalizing or done',
      async () => {
        status = (await h.registry.get(first.runId, first.attempt))?.status ?? '';
        return ['finalizing', 'succeeded'].includes(status) ? status : undefined;
      },
      { intervalMs: 5, timeoutMs: 60_000 },
    );
    const reruns = [];
    for (let k = 0; k < 4; k++) reruns.push(await h.trigger(job, date, { rerun: true }));
    const newest = reruns.at(-1)!;
    const records = await Promise.all([first, ...reruns].map((r) => finalRecord(r.runId, r.attempt)));
    assert.equal(records.at(-1)?.status, 'succeeded', records.at(-1)?.reason);
    assert.equal(records[0]?.status, 'succeeded', `a1 (rerun came while it was ${status})`);
    // Reruns overtaken before they started never ran; any that did ran alone, in attempt order.
    const ran = records.filter((r) => r.status === 'succeeded');
    assert.ok(ran.length < records.length, `the burst coalesced: ${records.map((r) => `${r.attempt} ${r.status}`).join(', ')}`);
    for (const r of records) assert.ok(r.status === 'succeeded' || r.status === 'superseded', `${r.attempt} ${r.status}: ${r.reason ?? ''}`);
    for (let k = 1; k < ran.length; k++) assert.ok((ran[k]?.startedAt ?? '') >= (ran[k - 1]?.finishedAt ?? ''), 'one attempt at a time');
    assert.equal(await assertPublishedExactlyOnce(date), newest.attempt);
  });

  it('`nightshift score` beside the workers on the same run: one publication wins by attempt order, every row once', async () => {
    for (let i = 0; i < 2; i++) {
      const date = await newDate();
      const first = await h.trigger(job, date);
      const score = h.cli(['score', job.file, '--date', date], s3Env());
      await sleep(Math.floor(Math.random() * 500));
      const rerun = await h.trigger(job, date, { rerun: true });
      const exit = await score.waitForExit(120_000);
      const recs = [await finalRecord(first.runId, first.attempt), await finalRecord(rerun.runId, rerun.attempt)];
      const published = await assertPublishedExactlyOnce(date);
      // score exits 0 when it published, 1 with a clear message when a newer attempt had.
      assert.ok(exit.code === 0 || (exit.code === 1 && /was not published: attempt \S+ of \S+ published while it ran/.test(score.output)), score.output);
      for (const r of recs)
        if (r.status === 'succeeded')
          assert.ok(compareAttempts(published, r.attempt) >= 0, `${r.attempt} succeeded after ${published} published: an older attempt replaced a newer one`);
    }
  });
});

describe("attempt numbers after the run's Redis records aged out", { timeout: 300_000 }, () => {
  it("a new trigger restarts the Redis counter at a1, is renumbered after the store's newest attempt, and publishes", async () => {
    const date = await newDate();
    const first = await h.trigger(job, date);
    assert.equal((await finalRecord(first.runId, first.attempt)).status, 'succeeded');
    const rerun = await h.trigger(job, date, { rerun: true });
    const published = (await finalRecord(rerun.runId, rerun.attempt)).attempt;
    assert.match(published, /^a2-/);
    // What retention does after NIGHTSHIFT_KEEP_RUNS_DAYS: the run's records, counter and pointer expire.
    const keys = await h.redis.keys(`${h.prefix}:*${first.runId}*`);
    assert.ok(keys.length >= 3, keys.join(' '));
    await h.redis.del(...keys);
    const again = await h.trigger(job, date);
    assert.equal(again.created, true);
    assert.match(again.attempt, /^a1-/, 'the Redis counter knows nothing of the run');
    const final = await finalRecord(again.runId, again.attempt);
    assert.equal(final.status, 'succeeded', final.reason);
    assert.match(final.attempt, /^a3-/, 'renumbered after the published a2');
    assert.equal((await h.registry.get(again.runId, again.attempt))?.supersededBy, final.attempt);
    assert.equal(await assertPublishedExactlyOnce(date), final.attempt);
  });
});

describe('fenced publication: an older attempt finishing last (real S3 store through the conditional-write proxy)', () => {
  const fence = (may: boolean): PublishFence => ({ mayPublish: async () => may, isActive: async () => false });

  function report(attempt: string, parts: string[], rows: number): RunReport {
    return {
      runId: 'r@2026-01-01',
      attempt,
      job: 'r',
      logicalDate: '2026-01-01',
      status: 'succeeded',
      startedAt: '',
      finishedAt: new Date().toISOString(),
      durationMs: 0,
      model: null,
      input: { uri: '', objects: [] },
      output: { uri: '', parts, errors: [] },
      rows: { read: rows, scored: rows, rejected: 0, rejectedByReason: {}, errorRate: 0, maxErrorRate: 0, reconciled: true },
      timings: { readParseMs: 0, inferenceMs: 0, writeMs: 0 },
      rowsPerSecond: 0,
      scores: {},
      shards: [],
    };
  }

  it('whatever the order of finishing, _SUCCESS ends on the newest attempt and its parts survive', async () => {
    const stores = new Stores(s3SettingsFromEnv({ NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint, NIGHTSHIFT_S3_PART_SIZE_MB: '5' }));
    try {
      for (let i = 0; i < 10; i++) {
        const out = stores.resolve({ kind: 's3', bucket, key: `fence-${i}/` });
        const attempts = ['a1-aaaa', 'a2-bbbb', 'a3-cccc'];
        for (const a of attempts) await out.store.write(`fence-${i}/part-00000-${a}.csv`, `id\n${a}\n`);
        // All three finish at once, in random order; the older ones must lose.
        const order = [...attempts].sort(() => Math.random() - 0.5);
        const outcomes = await Promise.all(order.map((a) => publishRun(out, report(a, [`part-00000-${a}.csv`], 1), fence(true))));
        const byAttempt = Object.fromEntries(order.map((a, k) => [a, outcomes[k]?.kind]));
        assert.equal(byAttempt['a3-cccc'], 'published', JSON.stringify(byAttempt));
        const run = await readPublishedRun(s3.client, bucket, `fence-${i}/`);
        assert.deepEqual([run.attempt, run.missing], ['a3-cccc', []], JSON.stringify(byAttempt));
        assert.deepEqual(
          run.keys.filter((k) => k.startsWith('part-')),
          ['part-00000-a3-cccc.csv'],
        );
        // Then an older attempt finishing last: superseded, nothing replaced or removed.
        const late = await publishRun(out, report('a2-bbbb', ['part-00000-a2-bbbb.csv'], 1), fence(true));
        assert.deepEqual(late, { kind: 'superseded', by: 'a3-cccc' });
        assert.equal((await readPublishedRun(s3.client, bucket, `fence-${i}/`)).attempt, 'a3-cccc');
      }
      assert.ok(proxy.conditionalWrites().refused > 0, 'the store refused conditional writes that lost');
    } finally {
      stores.close();
    }
  });

  it('an attempt the Redis fence no longer lets publish writes nothing, even on an empty prefix', async () => {
    const stores = new Stores(s3SettingsFromEnv({ NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint, NIGHTSHIFT_S3_PART_SIZE_MB: '5' }));
    try {
      const out = stores.resolve({ kind: 's3', bucket, key: 'fence-redis/' });
      await out.store.write('fence-redis/part-00000-a1-aaaa.csv', 'id\nx\n');
      assert.deepEqual(await publishRun(out, report('a1-aaaa', ['part-00000-a1-aaaa.csv'], 1), fence(false)), { kind: 'superseded', by: undefined });
      assert.deepEqual((await readPublishedRun(s3.client, bucket, 'fence-redis/')).keys, [], 'no _SUCCESS, no report, its own part removed');
    } finally {
      stores.close();
    }
  });
});
