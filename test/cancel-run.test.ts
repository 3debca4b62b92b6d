/**
 * Cancelling a run on the workers (`nightshift cancel`, POST /runs/:id/cancel), with real parts
 * only: two `nightshift worker` processes on Redis, s3rver behind the test proxy (which also
 * stalls input reads, so a run is reliably mid-way when it is cancelled), a `nightshift cancel`
 * child process and the HTTP server in this process. After a cancel: the record says cancelled
 * (by, reason), the active shards stopped without retry, nothing was published, none of the
 * attempt's files is left, and a rerun that was waiting for it runs and publishes every row once.
 *
 *   node --import tsx --test test/cancel-run.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { createApiServer } from '../src/http/server.js';
import { finalizeJobId, planJobId, shardJobId } from '../src/queue/names.js';
import type { QueueClient } from '../src/queue/queue-client.js';
import { openQueueClient } from '../src/queue/queue-client.js';
import { RunTurns } from '../src/queue/run-turns.js';
import { runFileAttempt, shardName } from '../src/run/output-layout.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { Stores } from '../src/storage/stores.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { MLP, MLP_HEADER, mlpRows, mlpSpec, toCsv, writeJob } from './helpers/jobs.js';
import { publishedRunProblems, readPublishedRun } from './helpers/published-run.js';
import { createBucket, getObject, listKeys, PART_SIZE_BYTES, putObject, startS3, type S3Server } from './helpers/s3.js';
import { openQueueHarness, spawnCli, waitFor, type QueueHarness } from './helpers/workers.js';

const WORKER_ENV = { NIGHTSHIFT_LOCK_MS: '4000', NIGHTSHIFT_STALLED_MS: '2000', NIGHTSHIFT_GRACE_MS: '5000', NIGHTSHIFT_S3_IDLE_TIMEOUT_MS: '300000' } as const;
const FINAL = ['succeeded', 'failed', 'skipped', 'superseded', 'cancelled'] as const;
const TOKEN = 'cancel-test-token-0123456789';

let s3: S3Server;
let proxy: FaultProxy;
let bucket: string;
let h: QueueHarness;
let job: LoadedJob;
let dir: string | undefined;
let client: QueueClient;
let server: Server;
let base: string;
const inputIds = new Map<string, string[]>();
let dates = 0;

function s3Env(): Record<string, string> {
  return { NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
}

/**
 * A fresh logical date with six input objects, one shard each (no byte ranges: planning only
 * lists them, so a stalled read holds a shard, never the plan).
 */
async function newDate(): Promise<string> {
  const d = new Date(Date.UTC(2026, 2, 1 + dates++)).toISOString().slice(0, 10);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const rows = mlpRows(600, { idPrefix: `${d}-${i}-`, seed: i + dates * 11 });
    ids.push(...rows.map((r) => r[0] ?? ''));
    await putObject(s3, bucket, `in/${d}/obj-${i}.csv`, toCsv(MLP_HEADER, rows));
  }
  inputIds.set(d, ids);
  return d;
}

/** Every key under the run's output prefix that belongs to `attempt`. */
async function filesOf(date: string, attempt: string): Promise<string[]> {
  const prefix = `out/${date}/`;
  return (await listKeys(s3, bucket, prefix)).filter((k) => runFileAttempt(k.slice(prefix.length)) === attempt);
}

async function post(p: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
  bucket = await createBucket(s3, 'cancel');
  await putObject(s3, bucket, 'models/model.onnx', buildMlp(MLP));
  const spec = mlpSpec();
  spec.model.uri = `s3://${bucket}/models/model.onnx`;
  spec.input.uri = `s3://${bucket}/in/{{date}}/`;
  spec.output.uri = `s3://${bucket}/out/{{date}}/`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-cancel-'));
  job = await writeJob(dir, { ...spec, limits: { batchRows: 256, maxErrorRate: 0.01 } });
  h = await openQueueHarness();
  // The HTTP API in this process, on the harness's prefix and the proxy's S3.
  process.env.NIGHTSHIFT_REDIS_PREFIX = h.prefix;
  client = await openQueueClient();
  const stores = new Stores({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    checksums: 'WHEN_REQUIRED',
    partSizeBytes: PART_SIZE_BYTES,
  });
  server = createApiServer({ token: TOKEN, client, stores, jobs: async () => new Map([[job.spec.name, job]]) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workers = [0, 1].map(() => spawnCli(['worker'], { prefix: h.prefix, env: { ...WORKER_ENV, ...s3Env() } }));
  h.workers.push(...workers);
  await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/, 120_000)));
});

after(async () => {
  await new Promise((r) => server?.close(r));
  await client?.close();
  await h?.close();
  await proxy?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cancelling a run on the workers', { timeout: 300_000 }, () => {
  it('nightshift cancel mid-run: shards stop, nothing published, no file of the attempt left; the waiting rerun runs and publishes', async () => {
    const date = await newDate();
    // Every read of this date's input stalls half-way: a1's shards hang mid-object until cancelled.
    const stall = proxy.addRule({ operation: 'GetObject', path: new RegExp(`/in/${date}/`), fault: { type: 'stall-body', fraction: 0.5 }, times: Infinity });
    const a1 = await h.trigger(job, date);
    await h.waitForRun(a1.runId, a1.attempt, { states: ['running'], timeoutMs: 120_000 });
    await waitFor('a1 shards to be reading', () => (stall.hits >= 2 ? true : undefined), { timeoutMs: 60_000, detail: h.logs });
    const a2 = await h.trigger(job, date, { rerun: true });
    assert.equal(a2.waitsFor?.attempt, a1.attempt, 'the rerun waits for a1');
    await h.waitForRun(a2.runId, a2.attempt, { states: ['queued'] });
    stall.remove();
    const cancel = h.cli(['cancel', job.file, '--date', date, '--by', 'tester', '--reason', 'wrong input'], s3Env());
    const exit = await cancel.waitForExit(60_000);
    assert.equal(exit.code, 0, cancel.output);
    assert.match(cancel.output, new RegExp(`cancelled ${a1.runId} attempt ${a1.attempt} \\(was running\\)`));

    const r1 = await h.waitForRun(a1.runId, a1.attempt, { states: FINAL });
    assert.equal(r1.status, 'cancelled');
    assert.equal(r1.cancelledBy, 'tester');
    assert.equal(r1.reason, 'cancelled by tester: wrong input');
    const r2 = await h.waitForRun(a2.runId, a2.attempt, { states: FINAL, timeoutMs: 120_000 });
    assert.equal(r2.status, 'succeeded', `${r2.reason ?? ''}\n${h.logs().slice(-4000)}`);

    // a1's finalize ran once its shards had stopped: it published nothing and removed a1's files.
    const fin = await waitFor(
      'a1 finalize to end',
      async () => {
        const j = await h.runs.getJob(finalizeJobId(a1.runId, a1.attempt));
        return j && (await j.isCompleted()) ? j : undefined;
      },
      { timeoutMs: 60_000, detail: h.logs },
    );
    assert.deepEqual(fin.returnvalue, { status: 'cancelled' });
    // Active shards failed without retry; queued ones were removed.
    let stopped = 0;
    for (let i = 0; i < (r1.shards ?? 0); i++) {
      const s = await h.shards.getJob(shardJobId(a1.runId, a1.attempt, shardName(i)));
      if (!s) continue;
      assert.equal(await s.getState(), 'failed', `shard ${i}`);
      assert.equal(s.attemptsMade, 1, `shard ${s.id} was not retried`);
      assert.match(s.failedReason, /cancelled/);
      stopped++;
    }
    assert.ok(stopped >= 2, `${stopped} active shards were stopped`);
    assert.deepEqual(await filesOf(date, a1.attempt), []);
    const published = await readPublishedRun(s3.client, bucket, `out/${date}/`);
    assert.equal(published.attempt, a2.attempt);
    assert.deepEqual(publishedRunProblems(published, inputIds.get(date) ?? []), []);
    assert.equal((await client.registry.turns().holder(a1.runId)) ?? null, null, 'the run is free');
  });

  it('an attempt whose death was never recorded (record "running", no jobs) holds a rerun until it is cancelled over HTTP', async () => {
    const date = await newDate();
    const runId = `${job.spec.name}@${date}`;
    // What a worker killed with its jobs lost would leave: an attempt "running", holding the
    // turn, with no job in any queue.
    const dead = await client.registry.claimAttempt(runId, false);
    await client.registry.create({
      runId,
      attempt: dead.attempt,
      job: job.spec.name,
      logicalDate: date,
      status: 'running',
      triggeredAt: new Date().toISOString(),
      trigger: 'manual',
    });
    assert.deepEqual(await new RunTurns(client.redis, h.prefix).take(runId, dead.attempt), { kind: 'granted' });
    const rerun = await h.trigger(job, date, { rerun: true });
    assert.equal(rerun.waitsFor?.attempt, dead.attempt);
    await waitFor(
      'the rerun to wait for the dead attempt',
      async () => ((await h.registry.get(runId, rerun.attempt))?.reason?.startsWith(`waiting for attempt ${dead.attempt}`) ? true : undefined),
      { timeoutMs: 60_000, detail: h.logs },
    );

    const res = await post(`/runs/${encodeURIComponent(runId)}/cancel`, { by: 'ops', reason: 'worker lost', attempt: dead.attempt });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.previous, 'running');
    assert.equal((await h.registry.get(runId, dead.attempt))?.cancelledBy, 'ops (HTTP)');
    const r = await h.waitForRun(runId, rerun.attempt, { states: FINAL, timeoutMs: 120_000 });
    assert.equal(r.status, 'succeeded', r.reason);
    const published = await readPublishedRun(s3.client, bucket, `out/${date}/`);
    assert.equal(published.attempt, rerun.attempt);
    assert.deepEqual(publishedRunProblems(published, inputIds.get(date) ?? []), []);
  });

  it('a finished run answers 409 (HTTP) and exit 2 (CLI); an unknown run 404; a queued attempt is cancelled before it plans', async () => {
    const date = await newDate();
    const a1 = await h.trigger(job, date);
    await h.waitForRun(a1.runId, a1.attempt, { states: ['succeeded'], timeoutMs: 120_000 });
    const res = await post(`/runs/${encodeURIComponent(a1.runId)}/cancel`, {});
    assert.equal(res.status, 409);
    assert.match(String(res.body.error), /already ended \(succeeded\)/);
    const cli = h.cli(['cancel', `${job.file}`, '--date', date], s3Env());
    assert.equal((await cli.waitForExit(60_000)).code, 2, cli.output);
    assert.match(cli.output, /already ended \(succeeded\): nothing to cancel/);
    assert.equal((await post(`/runs/${encodeURIComponent(`${job.spec.name}@2020-01-01`)}/cancel`, {})).status, 404);
    assert.equal((await post(`/runs/${encodeURIComponent(a1.runId)}/cancel`, { by: 'x', extra: 1 })).status, 400);

    // A rerun waiting behind a stalled attempt: cancelled while queued, it never runs, and the
    // run stays with the active attempt.
    const date2 = await newDate();
    const stall = proxy.addRule({ operation: 'GetObject', path: new RegExp(`/in/${date2}/`), fault: { type: 'stall-body', fraction: 0.5 }, times: Infinity });
    const b1 = await h.trigger(job, date2);
    await h.waitForRun(b1.runId, b1.attempt, { states: ['running'], timeoutMs: 120_000 });
    const b2 = await h.trigger(job, date2, { rerun: true });
    await h.waitForRun(b2.runId, b2.attempt, { states: ['queued'] });
    const c2 = await post(`/runs/${encodeURIComponent(b2.runId)}/cancel`, { attempt: b2.attempt });
    assert.equal(c2.status, 200, JSON.stringify(c2.body));
    assert.equal(c2.body.previous, 'queued');
    // Its plan job was removed, or (taken by a worker at that moment) it ended without planning.
    await waitFor(
      'b2 plan job removed or ended',
      async () => {
        const j = await h.runs.getJob(planJobId(b2.runId, b2.attempt));
        if (!j) return true;
        return (await j.isCompleted()) ? (assert.deepEqual(j.returnvalue, { shards: 0 }), true) : undefined;
      },
      { timeoutMs: 30_000, detail: h.logs },
    );
    assert.equal((await h.registry.get(b2.runId, b2.attempt))?.startedAt, undefined, 'b2 never started');
    assert.equal((await client.registry.activeAttempt(b1.runId))?.attempt, b1.attempt);
    // Then the stalled attempt itself, by default (the one holding the run).
    stall.remove();
    const c1 = await post(`/runs/${encodeURIComponent(b1.runId)}/cancel`, {});
    assert.equal(c1.body.attempt, b1.attempt, JSON.stringify(c1.body));
    const r = await h.waitForRun(b1.runId, b1.attempt, { states: FINAL });
    assert.equal(r.status, 'cancelled');
    await waitFor('b1 files removed', async () => ((await filesOf(date2, b1.attempt)).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      detail: async () => (await filesOf(date2, b1.attempt)).join(' '),
    });
    assert.equal((await readPublishedRun(s3.client, bucket, `out/${date2}/`)).attempt, undefined, 'nothing published');
    // The output prefix says why: the attempt's report, status cancelled, with who and why.
    const report = await waitFor(
      'b1 report',
      async () => {
        const text = await getObject(s3, bucket, `out/${date2}/_report.json`);
        return text && text.length > 0 ? (JSON.parse(text.toString('utf8')) as { status: string; attempt: string; reason?: string }) : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.deepEqual([report.status, report.attempt, report.reason], ['cancelled', b1.attempt, 'cancelled by anonymous (HTTP)']);
  });
});
