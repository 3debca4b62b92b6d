/**
 * S3 faults, injected by a proxy between nightshift and s3rver (test/helpers/fault-proxy.ts), on
 * in-process runs (scoreRun) with model, input and output in a bucket. Whatever S3 does — throttle
 * (503 SlowDown), fail a CompleteMultipartUpload with a 200 <Error>, drop the connection or go
 * silent in the middle of an object's body — a run either succeeds with every row or fails with a
 * retryable error, and it never leaves a partial part, a _SUCCESS or an open connection behind.
 *
 *   node --import tsx --test test/faults-s3.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { TransientError } from '../src/core/errors.js';
import { scoreRun, type ScoreRunResult } from '../src/run/score-run.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { s3SettingsFromEnv } from '../src/storage/s3-config.js';
import { Stores } from '../src/storage/stores.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { assertMlpPart, DATE, MLP, MLP_HEADER, mlpRows, mlpSpec, tempDir, toCsv, writeJob } from './helpers/jobs.js';
import { createBucket, getText, listKeys, putObject, startS3, type S3Server } from './helpers/s3.js';
import { waitFor } from './helpers/workers.js';

let s3: S3Server;
let proxy: FaultProxy;
before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
});
after(async () => {
  await proxy.close();
  await s3.stop();
});

const MODEL = buildMlp(MLP);

/** 6,000 rows whose part (~6 MB) is larger than the 5 MB part size: a multipart upload. */
const BIG_ROWS = mlpRows(6_000, { seed: 5, noteFor: (i) => `note ${i} ${'x'.repeat(1_000)}` });
const BIG_CSV = toCsv(MLP_HEADER, BIG_ROWS);
/** ~2 MB: enough for a body to arrive in many chunks, so a fault can land in its middle. */
const MID_ROWS = BIG_ROWS.slice(0, 2_000);
const MID_CSV = toCsv(MLP_HEADER, MID_ROWS);

/** S3 settings through the proxy, the way a worker reads them from its environment. */
function storesViaProxy(t: TestContext, idleTimeoutMs?: number): Stores {
  const stores = new Stores(
    s3SettingsFromEnv({
      NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint,
      NIGHTSHIFT_S3_PART_SIZE_MB: '5',
      ...(idleTimeoutMs !== undefined ? { NIGHTSHIFT_S3_IDLE_TIMEOUT_MS: String(idleTimeoutMs) } : {}),
    }),
  );
  t.after(() => stores.close());
  return stores;
}

interface BucketJob {
  readonly bucket: string;
  readonly job: LoadedJob;
}

/** A fresh bucket with the model and `inputs` under in/DATE/, and a job spec pointing at it. */
async function bucketJob(t: TestContext, inputs: Record<string, string>, limits?: { maxRecordBytes?: number }): Promise<BucketJob> {
  const bucket = await createBucket(s3, 'faults');
  await putObject(s3, bucket, 'models/mlp.onnx', MODEL);
  for (const [name, body] of Object.entries(inputs)) await putObject(s3, bucket, `in/${DATE}/${name}`, body);
  const spec = mlpSpec();
  spec.model.uri = `s3://${bucket}/models/mlp.onnx`;
  spec.input.uri = `s3://${bucket}/in/{{date}}/`;
  spec.output.uri = `s3://${bucket}/out/{{date}}/`;
  spec.limits = { batchRows: 4096, maxErrorRate: 0, ...limits };
  return { bucket, job: await writeJob(await tempDir(t, 'faults-s3'), spec) };
}

/** Runs the job, writing to out-<name>/ in its bucket. */
function run(j: BucketJob, stores: Stores, name: string): Promise<ScoreRunResult> {
  return scoreRun(j.job, stores, { date: DATE, outputUri: `s3://${j.bucket}/out-${name}/` });
}

/** Object names under out-<name>/. */
async function outputs(j: BucketJob, name: string): Promise<string[]> {
  return (await listKeys(s3, j.bucket, `out-${name}/`)).map((k) => k.slice(`out-${name}/`.length));
}

/** The run published exactly one part holding every input row, correctly scored. */
async function assertComplete(j: BucketJob, name: string, result: ScoreRunResult, rows: readonly string[][]): Promise<void> {
  assert.equal(result.report.status, 'succeeded', result.report.reason);
  assert.deepEqual({ read: result.report.rows.read, scored: result.report.rows.scored }, { read: rows.length, scored: rows.length });
  const [part, ...more] = result.report.output.parts;
  assert.ok(part !== undefined && more.length === 0 && /^part-00000-/.test(part), `parts: ${result.report.output.parts.join(', ')}`);
  assert.deepEqual(await outputs(j, name), ['_SUCCESS', '_profile.json', '_report.json', part]);
  const manifest = JSON.parse(await getText(s3, j.bucket, `out-${name}/_SUCCESS`)) as { parts: string[] };
  assert.deepEqual(manifest.parts, [part]);
  await assertMlpPart(MODEL, await getText(s3, j.bucket, `out-${name}/${part}`), rows);
}

/** The attempt failed without publishing anything: no part, no _SUCCESS. */
async function assertNothingPublished(j: BucketJob, name: string): Promise<void> {
  const names = await outputs(j, name);
  assert.deepEqual(
    names.filter((n) => n.startsWith('part-') || n === '_SUCCESS'),
    [],
    `published: ${names.join(', ')}`,
  );
}

function isTransient(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof TransientError, `expected a TransientError, got ${(err as Error).name}: ${(err as Error).message}`);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('S3 faults during a run (scoreRun through a fault-injecting proxy)', () => {
  it('503 SlowDown on GetObject, UploadPart and CompleteMultipartUpload, and a 200 <Error> on completion: retried, every row published', async (t) => {
    const j = await bucketJob(t, { 'big.csv': BIG_CSV });
    const stores = storesViaProxy(t);
    // Once each: the SDK backs off up to 1 s (2 s, …) after a SlowDown, and these tests are about
    // what nightshift does around the SDK's retries, not about how often it retries.
    const slowDown = { type: 'status', status: 503, code: 'SlowDown' } as const;
    const get = proxy.addRule({ operation: 'GetObject', path: /\/in\//, fault: slowDown });
    const part = proxy.addRule({ operation: 'UploadPart', fault: slowDown });
    const complete = proxy.addRule({ operation: 'CompleteMultipartUpload', fault: slowDown });
    // The completion's second try gets S3's other failure mode: 200 OK whose body is an <Error>.
    const complete200 = proxy.addRule({ operation: 'CompleteMultipartUpload', fault: { type: 'error-200', code: 'InternalError' } });
    t.after(() => proxy.clearRules());
    const uploadParts = proxy.count('UploadPart');

    const result = await run(j, stores, 'retried');
    assert.deepEqual([get.hits, part.hits, complete.hits, complete200.hits], [1, 1, 1, 1], 'every fault was injected');
    assert.ok(proxy.count('UploadPart') - uploadParts >= 3, 'the part went up as a multipart upload (2 parts + 1 retried)');
    await assertComplete(j, 'retried', result, BIG_ROWS);
  });

  it('a CompleteMultipartUpload that keeps answering 200 <Error>: a retryable failure, the upload aborted, nothing published', async (t) => {
    const j = await bucketJob(t, { 'big.csv': BIG_CSV });
    const stores = storesViaProxy(t);
    const always = proxy.addRule({ operation: 'CompleteMultipartUpload', fault: { type: 'error-200', code: 'InternalError' }, times: Infinity });
    t.after(() => proxy.clearRules());
    const aborts = proxy.count('AbortMultipartUpload');
    await assert.rejects(run(j, stores, 'always'), isTransient(/InternalError|503/));
    assert.ok(always.hits >= 2, `the SDK retried the completion (${always.hits} tries)`);
    assert.ok(proxy.count('AbortMultipartUpload') > aborts, 'the multipart upload was aborted, so no parts are left behind');
    await assertNothingPublished(j, 'always');
  });

  it('a connection cut in the middle of the input body fails the shard as retryable; the retry publishes every row', async (t) => {
    const j = await bucketJob(t, { 'big.csv': MID_CSV });
    const stores = storesViaProxy(t);
    const cut = proxy.addRule({ operation: 'GetObject', path: /\/in\//, fault: { type: 'cut-body', fraction: 0.5 }, times: 1 });
    t.after(() => proxy.clearRules());

    await assert.rejects(run(j, stores, 'cut'), isTransient(/big\.csv/));
    assert.equal(cut.hits, 1);
    assert.deepEqual(await outputs(j, 'cut'), [], 'no part, report or _SUCCESS from the cut attempt');
    // What a retry does: the same run again, the fault gone.
    await assertComplete(j, 'cut', await run(j, stores, 'cut'), MID_ROWS);
  });

  it('a body that stalls half-way fails after the idle timeout (NIGHTSHIFT_S3_IDLE_TIMEOUT_MS) instead of hanging', { timeout: 30_000 }, async (t) => {
    const j = await bucketJob(t, { 'big.csv': MID_CSV });
    const stores = storesViaProxy(t, 1_000);
    const stall = proxy.addRule({ operation: 'GetObject', path: /\/in\//, fault: { type: 'stall-body', fraction: 0.5 }, times: 1 });
    t.after(() => proxy.clearRules());

    const started = Date.now();
    await assert.rejects(run(j, stores, 'stall'), isTransient(/big\.csv.*(timed out|inactivity)/s));
    const took = Date.now() - started;
    assert.equal(stall.hits, 1);
    assert.ok(took < 10_000, `failed after ${took} ms`);
    await assertNothingPublished(j, 'stall');
    // The stalled response was given up by the client, not left open.
    await waitFor('the stalled GetObject to be closed', () => (proxy.openResponses('GetObject') === 0 ? true : undefined), { timeoutMs: 5_000 });
  });

  it('many failed and faulted runs leave no connection open: every object body is consumed or destroyed', { timeout: 60_000 }, async (t) => {
    // A body its reader stops reading keeps its connection out of the client's pool for good,
    // so every leaked body shows up as one more connection open to the proxy.
    const rows = mlpRows(1_500, { seed: 9, noteFor: (i) => `n${i} ${'y'.repeat(100)}` });
    const good = toCsv(MLP_HEADER, rows);
    const lines = good.split('\n');
    lines[500] = `${lines[500]}${'z'.repeat(100_000)}`; // one record far over maxRecordBytes
    const oversized = lines.join('\n');
    const missingColumn = good.replace(/^id,note,/, 'id,memo,');
    const scenarios: { name: string; input: string; fault?: Parameters<FaultProxy['addRule']>[0]['fault']; expect: 'succeeded' | 'failed' | 'transient' }[] = [
      { name: 'oversized', input: oversized, expect: 'failed' },
      { name: 'missing-column', input: missingColumn, expect: 'failed' },
      { name: 'cut', input: good, fault: { type: 'cut-body', fraction: 0.3 }, expect: 'transient' },
      { name: 'error-500', input: good, fault: { type: 'status', status: 500, code: 'InternalError' }, expect: 'succeeded' },
    ];
    const jobs = new Map<string, BucketJob>();
    for (const s of scenarios) jobs.set(s.name, await bucketJob(t, { 'data.csv': s.input }, { maxRecordBytes: 65_536 }));
    const stores = storesViaProxy(t);
    t.after(() => proxy.clearRules());

    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      for (const s of scenarios) {
        const j = jobs.get(s.name) as BucketJob;
        const rule = s.fault ? proxy.addRule({ operation: 'GetObject', path: /\/in\//, fault: s.fault, times: 1 }) : undefined;
        const outcome = await run(j, stores, `${s.name}-${round}`).then(
          (r) => r.report.status,
          (err: unknown) => (err instanceof TransientError ? 'transient' : `unexpected: ${String(err)}`),
        );
        assert.equal(outcome, s.expect, `${s.name}, round ${round}`);
        if (rule) assert.equal(rule.hits, 1, `${s.name}: fault injected`);
        rule?.remove();
      }
    }
    // Each body left unread would hold its own connection: 6 of the 12 runs stop reading early.
    const open = await waitFor('connections to settle', () => (proxy.openResponses('GetObject') === 0 ? proxy.openSockets() : undefined), { timeoutMs: 5_000 });
    assert.ok(open <= 4, `${open} connections open to the proxy after ${rounds * scenarios.length} runs`);
  });
});
