/**
 * A worker's shared model download (worker/scorer-cache.ts) and the jobs waiting for it, with
 * real parts: s3rver behind the test proxy, which holds or stalls the model's body half-way so
 * the download is reliably in flight, and, for the end-to-end case, a real `nightshift worker`
 * on Redis. A job that stops waiting (its signal: a cancel, a shutdown) leaves the download to
 * the jobs still waiting; the download is aborted once no job waits for it, or when the worker
 * shuts down; a later job downloads afresh.
 *
 *   node --import tsx --test test/scorer-cache.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { CancelledError } from '../src/core/errors.js';
import { cancelRun } from '../src/queue/cancel-run.js';
import { finalizeJobId } from '../src/queue/names.js';
import type { ModelSource } from '../src/model/load-model.js';
import { Stores } from '../src/storage/stores.js';
import { ScorerCache } from '../src/worker/scorer-cache.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { MLP, MLP_HEADER, mlpRows, mlpSpec, toCsv, writeJob } from './helpers/jobs.js';
import { createBucket, PART_SIZE_BYTES, putObject, startS3, type S3Server } from './helpers/s3.js';
import { openQueueHarness, waitFor } from './helpers/workers.js';

const MODEL = buildMlp(MLP);
const MODEL_SHA256 = createHash('sha256').update(MODEL).digest('hex');

let s3: S3Server;
let proxy: FaultProxy;
let bucket: string;
let models = 0;

/** A model object of its own (so the proxy's counts are per test). */
async function newModel(): Promise<{ source: ModelSource; path: RegExp }> {
  const key = `models/m${models++}.onnx`;
  await putObject(s3, bucket, key, MODEL);
  return { source: { uri: `s3://${bucket}/${key}` }, path: new RegExp(`/${key}$`) };
}

function proxiedStores(): Stores {
  return new Stores({ endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, checksums: 'WHEN_REQUIRED', partSizeBytes: PART_SIZE_BYTES });
}

/** Resolves once `promise` has settled, with how (never rejects). */
function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
  bucket = await createBucket(s3, 'scorers');
});

after(async () => {
  await proxy?.close();
  await s3?.stop();
});

describe('the shared model download', { timeout: 120_000 }, () => {
  it('a job that stops waiting leaves the download to the others, which get the model', async (t) => {
    const stores = proxiedStores();
    const cache = new ScorerCache(stores);
    t.after(async () => {
      await cache.close();
      stores.close();
    });
    const { source, path: modelPath } = await newModel();
    let release = (): void => undefined;
    const until = new Promise<void>((r) => (release = r));
    proxy.addRule({ operation: 'GetObject', path: modelPath, fault: { type: 'hold-body', fraction: 0.5, until } });
    const a = new AbortController();
    const b = new AbortController();
    const first = settled(cache.model(source, 'run-1', MODEL_SHA256, a.signal));
    const second = settled(cache.model(source, 'run-1', MODEL_SHA256, b.signal));
    await waitFor('the download to be in flight', () => (proxy.openResponses('GetObject') === 1 ? true : undefined));

    a.abort(new Error('run cancelled'));
    const left = await first;
    assert.equal(left.ok, false);
    assert.ok(!left.ok && left.error instanceof CancelledError, `expected a CancelledError, got ${String(!left.ok && left.error)}`);
    assert.match(String((left as { error: Error }).error.message), /stopped waiting for model .*run cancelled/);
    assert.equal(proxy.openResponses('GetObject'), 1, 'the download goes on for the job still waiting');

    release();
    const got = await second;
    assert.ok(got.ok, `the job still waiting gets the model: ${String(!got.ok && got.error)}`);
    assert.equal(got.value.sha256, MODEL_SHA256);
    // Once downloaded, the run's model is kept: a later job (even one already cancelled) does not fetch again.
    assert.equal((await cache.model(source, 'run-1', MODEL_SHA256)).sha256, MODEL_SHA256);
    assert.equal(proxy.count('GetObject'), 1, 'one download for the run');
  });

  it('the download is aborted once no job waits for it; the next job downloads afresh', async (t) => {
    const stores = proxiedStores();
    const cache = new ScorerCache(stores);
    t.after(async () => {
      await cache.close();
      stores.close();
    });
    const { source, path: modelPath } = await newModel();
    const before = proxy.count('GetObject');
    proxy.addRule({ operation: 'GetObject', path: modelPath, fault: { type: 'stall-body', fraction: 0.5 } });
    const a = new AbortController();
    const b = new AbortController();
    const first = settled(cache.model(source, 'run-1', undefined, a.signal));
    const second = settled(cache.model(source, 'run-1', undefined, b.signal));
    await waitFor('the download to be in flight', () => (proxy.openResponses('GetObject') === 1 ? true : undefined));
    a.abort(new Error('shard 0 cancelled'));
    assert.equal((await first).ok, false);
    assert.equal(proxy.openResponses('GetObject'), 1, 'one job still waits: the download goes on');
    b.abort(new Error('shard 1 cancelled'));
    const last = await second;
    assert.ok(!last.ok && last.error instanceof CancelledError);
    await waitFor('the abandoned download to be closed', () => (proxy.openResponses('GetObject') === 0 ? true : undefined), { timeoutMs: 30_000 });

    const again = await cache.model(source, 'run-1');
    assert.equal(again.sha256, MODEL_SHA256);
    assert.equal(proxy.count('GetObject') - before, 2, 'the abandoned download was forgotten, not reused');
  });

  it('a job already cancelled does not start a download', async (t) => {
    const stores = proxiedStores();
    const cache = new ScorerCache(stores);
    t.after(async () => {
      await cache.close();
      stores.close();
    });
    const { source } = await newModel();
    const before = proxy.count('GetObject');
    const gone = AbortSignal.abort(new Error('cancelled before it started'));
    await assert.rejects(cache.model(source, 'run-1', undefined, gone), CancelledError);
    assert.equal(proxy.count('GetObject'), before, 'no request sent');
    assert.equal((await cache.model(source, 'run-1')).sha256, MODEL_SHA256);
  });

  it('worker shutdown (close) aborts a download in flight; its waiters fail with a CancelledError', async () => {
    const stores = proxiedStores();
    const cache = new ScorerCache(stores);
    const { source, path: modelPath } = await newModel();
    proxy.addRule({ operation: 'GetObject', path: modelPath, fault: { type: 'stall-body', fraction: 0.5 } });
    // The plan's fetch has no signal of its own: it waits to the end, or to the shutdown.
    const waiting = settled(cache.model(source, 'run-1'));
    await waitFor('the download to be in flight', () => (proxy.openResponses('GetObject') === 1 ? true : undefined));
    await cache.close();
    stores.close();
    const outcome = await waiting;
    assert.ok(!outcome.ok && outcome.error instanceof CancelledError, `expected a CancelledError, got ${String(!outcome.ok && outcome.error)}`);
    await waitFor('the download to be closed', () => (proxy.openResponses('GetObject') === 0 ? true : undefined), { timeoutMs: 30_000 });
  });
});

describe('a worker process', { timeout: 300_000 }, () => {
  it('a run cancelled while its shards wait for a stalled model download ends cancelled, and the download is closed', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-scorers-'));
    const h = await openQueueHarness();
    t.after(async () => {
      await h.close();
      await rm(dir, { recursive: true, force: true });
    });
    const { source, path: modelPath } = await newModel();
    const date = '2026-03-01';
    for (let i = 0; i < 2; i++) await putObject(s3, bucket, `e2e/in/${date}/obj-${i}.csv`, toCsv(MLP_HEADER, mlpRows(200, { idPrefix: `${i}-`, seed: i })));
    const spec = mlpSpec();
    spec.model.uri = source.uri;
    spec.input.uri = `s3://${bucket}/e2e/in/{{date}}/`;
    spec.output.uri = `s3://${bucket}/e2e/out/{{date}}/`;
    const job = await writeJob(dir, spec);
    // The plan's download passes; the shards' (a worker fetches the model its plan pinned once
    // more, by sha256) stalls half-way, and nothing but the cancel would end it: the idle timeout is 5 min.
    const stall = proxy.addRule({ operation: 'GetObject', path: modelPath, skip: 1, fault: { type: 'stall-body', fraction: 0.5 }, times: Infinity });
    await h.spawnWorker({
      NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_S3_IDLE_TIMEOUT_MS: '300000',
      NIGHTSHIFT_CONCURRENCY: '2',
    });
    const run = await h.trigger(job, date);
    await h.waitForRun(run.runId, run.attempt, { states: ['running'], timeoutMs: 120_000 });
    await waitFor(
      'both shards to wait for the stalled download',
      async () => (stall.hits === 1 && proxy.openResponses('GetObject') === 1 && (await h.shards.getJobs(['active'])).length === 2 ? true : undefined),
      { timeoutMs: 60_000, detail: h.logs },
    );

    const cancelled = await cancelRun({ runs: h.runs, registry: h.registry }, run.runId, { by: 'tester', reason: 'model download hangs' });
    assert.equal(cancelled?.previous, 'running');
    // The finalize step runs once no shard of the attempt is left: the shards stopped waiting.
    const finalize = await waitFor(
      'the shards to stop and the finalize step to end',
      async () => {
        const state = await (await h.runs.getJob(finalizeJobId(run.runId, run.attempt)))?.getState();
        return state === 'completed' || state === 'failed' ? state : undefined;
      },
      { timeoutMs: 120_000, detail: h.logs },
    );
    assert.equal(finalize, 'completed');
    assert.equal((await h.registry.get(run.runId, run.attempt))?.status, 'cancelled');
    await waitFor('the worker to close the abandoned download', () => (proxy.openResponses('GetObject') === 0 ? true : undefined), {
      timeoutMs: 60_000,
      detail: h.logs,
    });
    assert.equal(stall.hits, 1, 'the two shards shared one download');
    stall.remove();
  });
});
