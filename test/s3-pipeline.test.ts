/**
 * The pipeline against a real S3 endpoint on loopback (s3rver): model, input and output all in
 * a bucket (one fresh bucket per test). Outputs, report and _SUCCESS must land in the bucket, a
 * part larger than the part size must go up as a multipart upload, ranged reads must return
 * exactly the asked bytes, and an aborted write must leave nothing visible.
 *
 *   node --import tsx --test test/s3-pipeline.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildMlp } from '../scripts/models/models.js';
import { ObjectSink } from '../src/formats/parts/object-sink.js';
import type { RunReport } from '../src/report/run-report.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { readAll } from '../src/storage/object-store.js';
import type { Stores } from '../src/storage/stores.js';
import { assertMlpPart, DATE, MLP, MLP_HEADER, mlpRows, mlpSpec, parseErrors, runJob, tempDir, toCsv, writeJob, type SuccessManifest } from './helpers/jobs.js';
import { createBucket, getText, listKeys, PART_SIZE_BYTES, putObject, startS3, storesFor, type S3Server } from './helpers/s3.js';

let s3: S3Server;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

interface S3Job {
  readonly bucket: string;
  readonly stores: Stores;
  readonly model: Uint8Array;
  readonly outPrefix: string;
  readonly job: LoadedJob;
}

/** A fresh bucket with the model and the given input objects under in/DATE/; the spec (local) points at it. */
async function s3Job(t: TestContext, inputs: Record<string, string | Uint8Array>, change?: (spec: JobSpecInput) => void): Promise<S3Job> {
  const bucket = await createBucket(s3);
  const model = buildMlp(MLP);
  await putObject(s3, bucket, 'models/mlp.onnx', model);
  for (const [name, body] of Object.entries(inputs)) await putObject(s3, bucket, `in/${DATE}/${name}`, body);
  const spec = mlpSpec();
  spec.model.uri = `s3://${bucket}/models/mlp.onnx`;
  spec.input.uri = `s3://${bucket}/in/{{date}}/`;
  spec.output.uri = `s3://${bucket}/out/{{date}}/`;
  change?.(spec);
  const job = await writeJob(await tempDir(t, 's3job'), spec);
  const stores = storesFor(s3);
  t.after(() => stores.close());
  return { bucket, stores, model, outPrefix: `out/${DATE}/`, job };
}

/** Names under the run's output prefix, relative to it. */
async function outputNames(j: S3Job): Promise<string[]> {
  return (await listKeys(s3, j.bucket, j.outPrefix)).map((k) => k.slice(j.outPrefix.length));
}

describe('a run with model, input and output in S3', () => {
  it('writes parts, errors, the report and _SUCCESS into the bucket', async (t) => {
    const a = mlpRows(200, { idPrefix: 'a' });
    const b = mlpRows(150, { seed: 2, idPrefix: 'b' });
    (b[7] as string[])[3] = 'x';
    (b[70] as string[]).pop();
    const j = await s3Job(t, { 'a.csv': toCsv(MLP_HEADER, a), 'b.csv.gz': gzipSync(toCsv(MLP_HEADER, b)) });
    const { report } = await runJob(j.job, { stores: j.stores });
    assert.equal(report.status, 'succeeded', report.reason);
    assert.equal(report.model?.uri, `s3://${j.bucket}/models/mlp.onnx`);
    assert.equal(report.output.uri, `s3://${j.bucket}/${j.outPrefix}`);

    const names = await outputNames(j);
    const parts = names.filter((n) => n.startsWith('part-'));
    const errors = names.filter((n) => n.startsWith('_errors/errors-'));
    assert.equal(parts.length, 2);
    assert.equal(errors.length, 1);
    assert.deepEqual(names, ['_SUCCESS', ...errors, '_profile.json', '_report.json', ...parts]);
    assert.deepEqual((await listKeys(s3, j.bucket, 'in/')).length, 2, 'inputs are untouched');

    const stored = JSON.parse(await getText(s3, j.bucket, `${j.outPrefix}_report.json`)) as RunReport;
    assert.equal(stored.status, 'succeeded');
    assert.deepEqual({ read: stored.rows.read, scored: stored.rows.scored, rejected: stored.rows.rejected }, { read: 350, scored: 348, rejected: 2 });
    const success = JSON.parse(await getText(s3, j.bucket, `${j.outPrefix}_SUCCESS`)) as SuccessManifest;
    assert.deepEqual(success.parts, parts);
    assert.equal(success.rows, 348);

    await assertMlpPart(j.model, await getText(s3, j.bucket, j.outPrefix + (parts[0] as string)), a);
    await assertMlpPart(
      j.model,
      await getText(s3, j.bucket, j.outPrefix + (parts[1] as string)),
      b.filter((_, i) => i !== 7 && i !== 70),
    );
    const errorRows = parseErrors(await getText(s3, j.bucket, j.outPrefix + (errors[0] as string)));
    assert.deepEqual(
      errorRows.map((e) => [e.source, e.line, e.reason]),
      [
        [`s3://${j.bucket}/in/${DATE}/b.csv.gz`, 9, 'not_a_number'],
        [`s3://${j.bucket}/in/${DATE}/b.csv.gz`, 72, 'field_count'],
      ],
    );
  });

  it('a part larger than the part size goes up as a multipart upload', async (t) => {
    const rows = mlpRows(30_000, { noteFor: (i) => `${String(i).padStart(6, '0')} ${'lorem ipsum dolor sit amet '.repeat(7)}` });
    const input = toCsv(MLP_HEADER, rows);
    assert.ok(input.length > PART_SIZE_BYTES, 'a multi-MB input');
    const j = await s3Job(t, { 'big.csv': input }, (spec) => {
      spec.limits = { batchRows: 4096, maxErrorRate: 0 };
    });
    const first = s3.requests.length;
    const { report } = await runJob(j.job, { stores: j.stores });
    assert.equal(report.status, 'succeeded', report.reason);
    assert.equal(report.rows.scored, rows.length);

    const [part] = (await outputNames(j)).filter((n) => n.startsWith('part-'));
    assert.ok(part);
    const key = `/${j.bucket}/${j.outPrefix}${part}`;
    const requests = s3.requests.slice(first).filter((r) => r.split('?')[0]?.endsWith(key));
    assert.ok(
      requests.some((r) => /^POST .*\?(.*&)?uploads(=|&|$)/.test(r)),
      `multipart upload started: ${requests.join('; ')}`,
    );
    const partPuts = requests.filter((r) => /^PUT .*[?&]partNumber=\d+/.test(r));
    assert.ok(partPuts.length >= 2, `at least two parts uploaded: ${requests.join('; ')}`);
    assert.ok(
      requests.some((r) => /^POST .*[?&]uploadId=/.test(r)),
      'multipart upload completed',
    );

    const text = await getText(s3, j.bucket, j.outPrefix + part);
    assert.ok(Buffer.byteLength(text) > PART_SIZE_BYTES, `part is ${Buffer.byteLength(text)} bytes`);
    await assertMlpPart(j.model, text, rows);
  });

  it('a rerun with fewer inputs removes the stale part from the bucket; a failed run publishes no part', async (t) => {
    const j = await s3Job(
      t,
      {
        'a.csv': toCsv(MLP_HEADER, mlpRows(20, { idPrefix: 'a' })),
        'b.csv': toCsv(MLP_HEADER, mlpRows(20, { idPrefix: 'b' })),
      },
      (spec) => {
        spec.limits = { maxErrorRate: 0.1 };
      },
    );
    assert.equal((await runJob(j.job, { stores: j.stores })).report.status, 'succeeded');
    assert.equal((await outputNames(j)).filter((n) => n.startsWith('part-')).length, 2);

    await j.stores.resolve({ kind: 's3', bucket: j.bucket, key: `in/${DATE}/b.csv` }).store.delete(`in/${DATE}/b.csv`);
    const second = await runJob(j.job, { stores: j.stores });
    assert.equal(second.report.status, 'succeeded');
    const names = await outputNames(j);
    assert.deepEqual(
      names.filter((n) => n.startsWith('part-')),
      second.report.output.parts,
    );
    assert.equal(second.report.output.parts.length, 1);

    // Third run: every row is bad, so the run fails; the second run's publication stays.
    const bad = toCsv(
      MLP_HEADER,
      mlpRows(5, { idPrefix: 'c' }).map((r) => r.slice(0, 4)),
    );
    await putObject(s3, j.bucket, `in/${DATE}/c.csv`, bad);
    const third = await runJob(j.job, { stores: j.stores });
    assert.equal(third.report.status, 'failed');
    const after = await outputNames(j);
    assert.deepEqual(
      after.filter((n) => n.startsWith('part-')),
      second.report.output.parts,
      'no part of the failed run is visible',
    );
    const success = JSON.parse(await getText(s3, j.bucket, `${j.outPrefix}_SUCCESS`)) as SuccessManifest;
    assert.equal(success.attempt, second.report.attempt);
  });
});

describe('S3 store', () => {
  it('ranged reads return exactly the bytes asked for', async (t) => {
    const bucket = await createBucket(s3);
    const stores = storesFor(s3);
    t.after(() => stores.close());
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const { store, key } = stores.resolve({ kind: 's3', bucket, key: 'data/blob.bin' });
    await store.write(key, blob);
    assert.equal((await store.head(key))?.size, blob.length);
    // (No 0-0 range: s3rver reads "bytes=0-0" as the whole object; real S3 returns one byte.)
    for (const [start, end] of [
      [0, 99],
      [1000, 1999],
      [1024 * 1024 - 3, 2 * 1024 * 1024 + 5],
      [blob.length - 10, blob.length - 1],
    ] as const) {
      const got = await readAll(await store.read(key, { range: { start, end } }));
      assert.equal(got.length, end - start + 1, `range ${start}-${end}`);
      assert.ok(got.equals(blob.subarray(start, end + 1)), `bytes of range ${start}-${end}`);
    }
    assert.ok((await readAll(await store.read(key))).equals(blob), 'a full read');
    assert.equal(await store.head('data/missing.bin'), undefined);
  });

  it('an aborted multipart write leaves nothing visible', async (t) => {
    const bucket = await createBucket(s3);
    const stores = storesFor(s3);
    t.after(() => stores.close());
    const { store } = stores.resolve({ kind: 's3', bucket, key: '' });
    const sink = new ObjectSink(store, 'out/part.csv', { gzip: false, contentType: 'text/csv' });
    const line = `${'y'.repeat(1023)}\n`;
    for (let i = 0; i < 7 * 1024; i++) await sink.write(line); // 7 MiB: more than one part
    await sink.abort(new Error('the shard failed'));
    assert.deepEqual(await listKeys(s3, bucket), []);
  });
});
