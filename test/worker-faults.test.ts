/**
 * A worker's own faults, with real worker processes on real Redis and s3rver: SIGTERM while Redis
 * is down, and how fast a SIGKILLed worker's shard is taken up by another worker.
 *
 *   node --import tsx --test test/worker-faults.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { DATE, MLP, MLP_HEADER, mlpRows, mlpSpec, tempDir, toCsv, writeJob } from './helpers/jobs.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { createBucket, putObject, startS3, type S3Server } from './helpers/s3.js';
import { queueHarness, randomPrefix, spawnWorker, startRedisServer, waitFor, type QueueHarness } from './helpers/workers.js';
import { workersKey } from '../src/worker/readiness.js';
import { AccessError } from '../src/core/errors.js';
import { exitCodeFor, isRetryable } from '../src/core/outcomes.js';
import { LocalStore } from '../src/storage/local-store.js';
import { classifyS3Error } from '../src/storage/s3-store.js';
import { S3ServiceException } from '@aws-sdk/client-s3';

async function s3WithProxy(t: TestContext): Promise<{ s3: S3Server; proxy: FaultProxy }> {
  const s3 = await startS3();
  t.after(() => s3.stop());
  const proxy = await startFaultProxy(s3.endpoint);
  t.after(() => proxy.close());
  return { s3, proxy };
}

function s3Env(endpoint: string, secret = 'S3RVER'): Record<string, string> {
  return { NIGHTSHIFT_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'us-east-1' };
}

/** Four input objects of the MLP job on S3 (model, inputs, outputs in one bucket); the rows by id. */
async function s3Job(t: TestContext, s3: S3Server, label: string): Promise<{ job: Awaited<ReturnType<typeof writeJob>>; rows: string[][]; bucket: string }> {
  const bucket = await createBucket(s3, label);
  await putObject(s3, bucket, 'models/model.onnx', buildMlp(MLP));
  const rows: string[][] = [];
  for (let i = 0; i < 4; i++) {
    const part = mlpRows(500, { idPrefix: `${label}${i}-`, seed: 30 + i });
    rows.push(...part);
    await putObject(s3, bucket, `in/${DATE}/part${i}.csv`, toCsv(MLP_HEADER, part));
  }
  const spec = mlpSpec();
  spec.model.uri = `s3://${bucket}/models/model.onnx`;
  spec.input.uri = `s3://${bucket}/in/{{date}}/`;
  spec.output.uri = `s3://${bucket}/out/{{date}}/`;
  return { job: await writeJob(await tempDir(t), spec), rows, bucket };
}

async function readinessOf(h: QueueHarness): Promise<{ ready: boolean; reason?: string }[]> {
  return Object.values(await h.redis.hgetall(workersKey(h.prefix))).map((v) => JSON.parse(v) as { ready: boolean; reason?: string });
}

describe("access errors: what is a worker's own problem", () => {
  it('S3 refusals of credentials or permissions, and a missing local path, are AccessErrors naming the object', async (t) => {
    const refused = (name: string, status: number): S3ServiceException =>
      new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: `${name} from the server` });
    for (const code of ['InvalidAccessKeyId', 'AccessDenied', 'SignatureDoesNotMatch', 'ExpiredToken']) {
      const err = classifyS3Error(refused(code, 403), 'read s3://b/k', 's3://b/k');
      assert.ok(err instanceof AccessError, code);
      assert.equal(err.uri, 's3://b/k');
      assert.match(err.message, new RegExp(code));
    }
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.ok(classifyS3Error(noCredentials, 'read s3://b/k') instanceof AccessError);
    assert.match(classifyS3Error(refused('Unknown', 403), 'head s3://b/k').message, /HTTP 403/, 'a HEAD 403 has no code');
    assert.ok(!(classifyS3Error(refused('NoSuchKey', 404), 'read s3://b/k') instanceof AccessError), 'a missing object is not an access problem');

    const dir = await tempDir(t, 'local');
    const err = await new LocalStore('/').read(`${dir.slice(1)}/not-mounted-here.onnx`).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof AccessError);
    assert.equal(err.uri, `${dir}/not-mounted-here.onnx`);
    assert.match(err.message, /no such file on this machine \(ENOENT\)/);
    // In the one error→outcome table: handed on (retried) by workers; exit 2 for a command.
    assert.equal(isRetryable(err), true);
    assert.equal(exitCodeFor(err), 2);
  });
});

describe('worker faults', () => {
  it('a worker with bad S3 credentials hands its job back, goes not ready, and the run succeeds on the healthy worker', { timeout: 120_000 }, async (t) => {
    const s3 = await startS3();
    t.after(() => s3.stop());
    const { job, rows } = await s3Job(t, s3, 'creds');
    const h = await queueHarness(t);
    // s3rver refuses an unknown access key (403 InvalidAccessKeyId) but does not check SigV4
    // signatures, so a wrong secret would pass: the bad worker has a wrong key id.
    const healthy = await h.spawnWorker({ ...s3Env(s3.endpoint), NIGHTSHIFT_LOCK_MS: '5000' });
    const bad = await h.spawnWorker({ ...s3Env(s3.endpoint), AWS_ACCESS_KEY_ID: 'NOT-A-KEY', NIGHTSHIFT_LOCK_MS: '5000', NIGHTSHIFT_SELF_CHECK_MS: '1000' });
    const run = await h.trigger(job, DATE);
    const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 90_000 });
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${h.logs()}`);
    assert.equal(rec.rowsScored, rows.length);
    // Both were idle when the run started, so the bad worker took a job (the plan or a shard).
    assert.match(bad.output, /NOT READY: .*InvalidAccessKeyId/);
    assert.match(bad.output, /failed \(attempt \d+\): handed back by a worker that cannot reach s3:\/\//);
    assert.doesNotMatch(healthy.output, /NOT READY|handed back/);
    assert.ok(bad.running, 'the misconfigured worker keeps running (not ready) instead of exiting');
    // Still refused on every self-check: it stays not ready, and says why.
    await new Promise((r) => setTimeout(r, 1_500));
    const states = await readinessOf(h);
    assert.deepEqual(states.map((s) => s.ready).sort(), [false, true]);
    assert.match(states.find((s) => !s.ready)?.reason ?? '', /InvalidAccessKeyId/);
    assert.ok(!h.logs().includes('S3RVER'), 'no credential in any log');
  });

  it('a model that no worker can read fails the run with the reason; workers are ready again once it is readable', { timeout: 120_000 }, async (t) => {
    const { s3, proxy } = await s3WithProxy(t);
    const { job, rows } = await s3Job(t, s3, 'denied');
    const denied = { type: 'status', status: 403, code: 'AccessDenied' } as const;
    proxy.addRule({ operation: 'GetObject', path: /\/models\//, fault: denied, times: Infinity });
    proxy.addRule({ operation: 'HeadObject', path: /\/models\//, fault: denied, times: Infinity });
    const h = await queueHarness(t);
    const env = { ...s3Env(proxy.endpoint), NIGHTSHIFT_SELF_CHECK_MS: '1000' };
    const workers = [await h.spawnWorker(env), await h.spawnWorker(env)];
    const run = await h.trigger(job, DATE);
    const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 90_000 });
    assert.equal(rec.status, 'failed', h.logs());
    assert.match(rec.reason ?? '', /model s3:\/\/\S+\/models\/model\.onnx cannot be read: .*AccessDenied/);
    assert.match(rec.reason ?? '', /no other worker is ready to take it|no worker could/);
    for (const w of workers) await w.waitForOutput(/NOT READY: .*AccessDenied/);

    proxy.clearRules();
    for (const w of workers) await w.waitForOutput(/ready again: s3:\/\/\S+\/models\/model\.onnx is reachable/, 20_000);
    const rerun = await h.trigger(job, DATE, { rerun: true });
    const again = await h.waitForRun(rerun.runId, rerun.attempt, { timeoutMs: 90_000 });
    assert.equal(again.status, 'succeeded', `${again.reason ?? ''}\n${h.logs()}`);
    assert.equal(again.rowsScored, rows.length);
  });

  it('SIGTERM while Redis is down: an idle worker exits within its grace period', { timeout: 60_000 }, async (t) => {
    const redis = await startRedisServer();
    t.after(() => redis.stop());
    const graceMs = 10_000;
    const worker = await spawnWorker({ prefix: randomPrefix(), redisUrl: redis.url, env: { NIGHTSHIFT_GRACE_MS: String(graceMs) } });
    t.after(() => worker.kill());
    await redis.stop();
    await worker.waitForOutput(/Redis connection lost|ECONNREFUSED/, 30_000);
    const signalled = Date.now();
    worker.signal('SIGTERM');
    const exit = await worker.waitForExit(graceMs + 30_000);
    const ms = Date.now() - signalled;
    t.diagnostic(`exited ${ms} ms after SIGTERM (grace ${graceMs} ms)`);
    assert.ok(ms < graceMs, `exited ${ms} ms after SIGTERM, grace ${graceMs} ms\n${worker.output}`);
    assert.equal(exit.signal, null, 'exited by itself, not killed by a second signal');
    assert.match(worker.output, /cannot close cleanly .*is Redis reachable/);
  });

  it("a SIGKILLed worker's shard is taken up within lock + stalled interval (NIGHTSHIFT_LOCK_MS=5000)", { timeout: 120_000 }, async (t) => {
    const { s3, proxy } = await s3WithProxy(t);
    const bucket = await createBucket(s3, 'recover');
    const rows = mlpRows(2_000, { idPrefix: 'r', seed: 9 });
    await putObject(s3, bucket, 'models/model.onnx', buildMlp(MLP));
    await putObject(s3, bucket, `in/${DATE}/events.csv`, toCsv(MLP_HEADER, rows));
    const spec = mlpSpec();
    spec.model.uri = `s3://${bucket}/models/model.onnx`;
    spec.input.uri = `s3://${bucket}/in/{{date}}/`;
    spec.output.uri = `s3://${bucket}/out/{{date}}/`;
    const job = await writeJob(await tempDir(t), spec);
    // The first read of the input stalls half-way: the victim holds its shard, renewing its lock,
    // until it is killed. The survivor's read passes.
    const stall = proxy.addRule({ operation: 'GetObject', path: /\/in\//, fault: { type: 'stall-body', fraction: 0.5 } });

    const lockMs = 5_000;
    const stalledMs = lockMs / 2; // the default: half the lock
    const env = { ...s3Env(proxy.endpoint), NIGHTSHIFT_LOCK_MS: String(lockMs) };
    const h = await queueHarness(t);
    const victim = await h.spawnWorker(env);
    const run = await h.trigger(job, DATE);
    await waitFor(
      'the victim to hold the shard, stalled in its input',
      async () => (stall.hits === 1 && (await h.shards.getActiveCount()) === 1 ? true : undefined),
      { detail: h.logs },
    );
    await h.spawnWorker(env);
    const [shard] = await h.shards.getActive();
    assert.ok(shard?.id);
    const killedAt = Date.now();
    await victim.kill();

    const pickedAt = await waitFor(
      'another worker to take the shard',
      async () => {
        const j = await h.shards.getJob(shard.id as string);
        return j?.processedOn !== undefined && j.processedOn > killedAt ? j.processedOn : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, detail: h.logs },
    );
    const recoveryMs = pickedAt - killedAt;
    t.diagnostic(`shard taken up ${recoveryMs} ms after SIGKILL (lock ${lockMs} ms, stalled check ${stalledMs} ms)`);
    // At most lock + one stalled interval, plus a generous margin for a busy machine (before:
    // ~26 s, as the default 15 s stalled check needed two rounds).
    assert.ok(recoveryMs <= lockMs + stalledMs + 4_000, `recovered after ${recoveryMs} ms\n${h.logs()}`);
    const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 60_000 });
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${h.logs()}`);
    assert.equal(rec.rowsScored, rows.length);
  });
});
