/**
 * Scoring through the real pipeline (scoreRun on local files, real onnxruntime sessions):
 * scores equal a direct session.run on the same rows and the model's exported weights, ids and
 * order are kept, the report reconciles, reruns replace outputs cleanly, and the output options
 * (JSONL, gzip, decimals) hold.
 *
 *   node --import tsx --test test/scoring.test.ts
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';
import { mlpWeights } from '../scripts/models/models.js';
import { ObjectSink } from '../src/formats/parts/object-sink.js';
import { LocalStore } from '../src/storage/local-store.js';
import {
  assertMlpPart,
  directRun,
  f32,
  FEATURES,
  fixture,
  MLP,
  MLP_HEADER,
  mlpRows,
  mlpSpec,
  parseCsv,
  readOutput,
  runJob,
  tempDir,
  toCsv,
} from './helpers/jobs.js';

/** Rows of an input file as written on disk, parsed independently of the pipeline. */
async function inputRows(file: string): Promise<string[][]> {
  const bytes = await readFile(file);
  return parseCsv((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'), { ragged: true }).rows;
}

/** The MLP recomputed in float64 from the exported float32 weights. */
function mlpReference(rows: readonly string[][]): number[] {
  const w = mlpWeights(MLP);
  const idx = FEATURES.map((f) => MLP_HEADER.indexOf(f));
  return rows.map((r) => {
    const x = idx.map((c) => Math.fround(Number(r[c])));
    let logit = w.b2[0] ?? 0;
    for (let j = 0; j < MLP.hidden; j++) {
      let h = w.b1[j] ?? 0;
      x.forEach((v, i) => (h += v * (w.w1[i * MLP.hidden + j] ?? 0)));
      logit += Math.max(0, h) * (w.w2[j] ?? 0);
    }
    return 1 / (1 + Math.exp(-logit));
  });
}

const isGood = (r: readonly string[]): boolean => r.length === MLP_HEADER.length && r.slice(2).every((c) => /^-?\d+\.\d+$/.test(c));

/** Three input files: a.csv (500 rows), b.csv.gz (300), c.csv (200 with 5 bad rows). */
function threeFiles(seed = 1): Record<string, string | Uint8Array> {
  const c = mlpRows(200, { seed: seed + 2, idPrefix: 'c' });
  [10, 50, 99, 150, 199].forEach((i, k) => {
    const row = c[i] as string[];
    if (k % 2) row[3 + k] = 'x';
    else row.pop();
  });
  return {
    'a.csv': toCsv(MLP_HEADER, mlpRows(500, { seed, idPrefix: 'a' })),
    'b.csv.gz': gzipSync(toCsv(MLP_HEADER, mlpRows(300, { seed: seed + 1, idPrefix: 'b' }))),
    'c.csv': toCsv(MLP_HEADER, c),
  };
}

describe('scores', () => {
  it('equal a direct session.run and the exported weights; ids and order kept across batches and files', async (t) => {
    const fx = await fixture(t, { files: threeFiles() });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    const out = await readOutput(fx.outputDir);
    assert.equal(out.parts.length, 3);
    assert.deepEqual(out.success?.parts, out.parts);

    const names = ['a.csv', 'b.csv.gz', 'c.csv'];
    let allScores: number[] = [];
    for (const [i, name] of names.entries()) {
      const part = out.parts[i] as string;
      assert.match(part, new RegExp(`^part-0000${i}[-.]`), 'parts follow the input order');
      const accepted = (await inputRows(path.join(fx.inputDir, name))).filter(isGood);
      const text = await out.text(part);
      await assertMlpPart(fx.model, text, accepted);
      const scores = parseCsv(text).rows.map((r) => Number(r[2]));
      mlpReference(accepted).forEach((ref, k) => assert.ok(Math.abs(ref - (scores[k] ?? NaN)) < 1e-6, `${name} row ${k}: ${scores[k]} vs weights ${ref}`));
      allScores = allScores.concat(scores);
    }

    // rows read = scored + rejected, in total and per shard, and per input object.
    assert.deepEqual(
      { read: report.rows.read, scored: report.rows.scored, rejected: report.rows.rejected, reconciled: report.rows.reconciled },
      { read: 1000, scored: 995, rejected: 5, reconciled: true },
    );
    assert.deepEqual(report.rows.rejectedByReason, { field_count: 3, not_a_number: 2 });
    assert.deepEqual(
      report.shards.map((s) => [s.rowsRead, s.rowsScored, s.rowsRejected]),
      [
        [500, 500, 0],
        [300, 300, 0],
        [200, 195, 5],
      ],
    );
    assert.deepEqual(
      report.input.objects.map((o) => [o.object, o.rows]),
      names.map((n, i) => [path.join(fx.inputDir, n), [500, 300, 200][i]]),
    );
    assert.equal(out.success?.rows, 995);
    assert.equal(out.errors.length, 1);
    const stats = report.scores['score'];
    assert.ok(stats);
    assert.equal(stats.count, 995);
    assert.equal(stats.min, Math.min(...allScores.map(Math.fround)));
    assert.equal(stats.max, Math.max(...allScores.map(Math.fround)));
  });

  it('header:false with input.csv.columns and a ";" delimiter', async (t) => {
    const rows = mlpRows(40);
    const text = rows.map((r) => r.join(';')).join('\n');
    const spec = mlpSpec();
    spec.input.csv = { header: false, delimiter: ';', columns: [...MLP_HEADER] };
    const fx = await fixture(t, { files: { 'data.csv': text }, spec });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    assert.equal(report.rows.scored, 40, 'the first line is data, not a header');
    await assertMlpPart(fx.model, await (await readOutput(fx.outputDir)).onlyPart(), rows);
  });
});

describe('reruns', () => {
  it('a rerun replaces the outputs: new data scored, files of the old attempt (incl. a stale part) removed', async (t) => {
    const fx = await fixture(t, { files: threeFiles() });
    const first = await runJob(fx.job);
    assert.equal(first.report.status, 'succeeded');
    const before = await readOutput(fx.outputDir);
    assert.equal(before.parts.length, 3);
    assert.equal(before.errors.length, 1);

    // Second run: c.csv is gone and a.csv has different rows.
    await rm(path.join(fx.inputDir, 'c.csv'));
    const newA = mlpRows(120, { seed: 99, idPrefix: 'A' });
    await writeFile(path.join(fx.inputDir, 'a.csv'), toCsv(MLP_HEADER, newA));
    const second = await runJob(fx.job);
    assert.equal(second.report.status, 'succeeded', second.report.reason);
    assert.notEqual(second.report.attempt, first.report.attempt);

    const after = await readOutput(fx.outputDir);
    assert.equal(after.parts.length, 2, `stale part removed: ${after.names.join(', ')}`);
    assert.deepEqual(after.errors, [], 'the old errors file is removed');
    assert.deepEqual(after.success?.parts, after.parts);
    assert.equal(after.success?.attempt, second.report.attempt);
    assert.equal(after.report?.attempt, second.report.attempt);
    for (const old of [...before.parts, ...before.errors]) assert.ok(!after.names.includes(old), `${old} of the first attempt is gone`);
    assert.deepEqual(
      after.names.filter((n) => !n.startsWith('part-')),
      ['_SUCCESS', '_profile.json', '_report.json'],
    );
    assert.deepEqual({ read: second.report.rows.read, scored: second.report.rows.scored }, { read: 420, scored: 420 });
    await assertMlpPart(fx.model, await after.text(after.parts[0] as string), newA);
  });

  it('a failed rerun leaves the previously published attempt readable', async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(30)) } });
    assert.equal((await runJob(fx.job)).report.status, 'succeeded');
    const before = await readOutput(fx.outputDir);
    const publishedPart = await before.onlyPart();

    await writeFile(path.join(fx.inputDir, 'b.csv'), `${MLP_HEADER.join(',')}\nr1,"never closed,1,2\n`);
    const failed = await runJob(fx.job);
    assert.equal(failed.report.status, 'failed');
    const after = await readOutput(fx.outputDir);
    assert.deepEqual(after.success, before.success, '_SUCCESS still names the published attempt');
    assert.deepEqual(after.parts, before.parts, 'only the published parts are there');
    assert.equal(await after.text(after.parts[0] as string), publishedPart);
    assert.equal(after.report?.status, 'failed', 'the report says why the rerun failed');
  });
});

describe('output formats', () => {
  it('JSONL: one object per row with ids, passthrough and scores; NaN scores are null', async (t) => {
    const rows = mlpRows(50);
    (rows[7] as string[])[4] = '';
    const spec = mlpSpec();
    spec.output.format = 'jsonl';
    spec.model.inputs[0] = { name: 'features', columns: [...FEATURES], missing: 'nan' };
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, rows) }, spec });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    const out = await readOutput(fx.outputDir);
    assert.match(out.parts[0] ?? '', /\.jsonl$/);
    const lines = (await out.onlyPart()).split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    const objects = lines.map((l) => JSON.parse(l) as { id: string; note: string; score: number | null });

    const x = new Float32Array(rows.length * FEATURES.length);
    rows.forEach((r, i) => r.slice(2).forEach((c, j) => (x[i * FEATURES.length + j] = c === '' ? NaN : Number(c))));
    const expected = f32((await directRun(fx.model, { features: new ort.Tensor('float32', x, [rows.length, FEATURES.length]) }))['score']);
    assert.deepEqual(
      objects.map((o) => Object.keys(o)),
      rows.map(() => ['id', 'note', 'score']),
    );
    assert.deepEqual(
      objects.map((o) => [o.id, o.note]),
      rows.map((r) => [r[0], r[1]]),
    );
    assert.deepEqual(
      objects.map((o) => (o.score === null ? null : Math.fround(o.score))),
      Array.from(expected, (v) => (Number.isNaN(v) ? null : v)),
    );
    assert.equal(objects[7]?.score, null);
  });

  it('gzip output: a gzip part that holds the same CSV', async (t) => {
    const rows = mlpRows(200);
    const spec = mlpSpec();
    spec.output.gzip = true;
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, rows) }, spec });
    assert.equal((await runJob(fx.job)).report.status, 'succeeded');
    const out = await readOutput(fx.outputDir);
    assert.match(out.parts[0] ?? '', /\.csv\.gz$/);
    const bytes = await readFile(path.join(fx.outputDir, out.parts[0] as string));
    assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], 'gzip magic bytes');
    await assertMlpPart(fx.model, gunzipSync(bytes).toString('utf8'), rows);
  });

  it('decimals: fixed decimals for float scores', async (t) => {
    const rows = mlpRows(100);
    const spec = mlpSpec();
    spec.output.decimals = 3;
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, rows) }, spec });
    assert.equal((await runJob(fx.job)).report.status, 'succeeded');
    const part = parseCsv(await (await readOutput(fx.outputDir)).onlyPart());
    const expected = f32(
      (await directRun(fx.model, { features: new ort.Tensor('float32', Float32Array.from(rows.flatMap((r) => r.slice(2).map(Number))), [rows.length, 8]) }))[
        'score'
      ],
    );
    assert.deepEqual(
      part.rows.map((r) => r[2]),
      Array.from(expected, (v) => v.toFixed(3)),
    );
    for (const r of part.rows) assert.match(r[2] ?? '', /^\d\.\d{3}$/);
  });
});

describe('output objects', () => {
  for (const gzip of [false, true]) {
    it(`an aborted sink leaves nothing visible and does not crash the process, even before its upload starts (gzip ${gzip})`, async (t) => {
      const dir = await tempDir(t, 'sink');
      const sink = new ObjectSink(new LocalStore(dir), 'out/2026-11-28/part-00000.csv', { gzip, contentType: 'text/csv' });
      await sink.abort(new Error('the shard failed'));
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      assert.deepEqual(files, []);
    });
  }

  it('a closed sink is visible with all its bytes; no temp file is left', async (t) => {
    const dir = await tempDir(t, 'sink');
    const sink = new ObjectSink(new LocalStore(dir), 'out/part.csv', { gzip: false, contentType: 'text/csv' });
    const chunk = 'x'.repeat(100_000);
    for (let i = 0; i < 30; i++) await sink.write(`${chunk}\n`);
    await sink.close();
    assert.deepEqual(await readdir(path.join(dir, 'out')), ['part.csv']);
    assert.equal((await readFile(path.join(dir, 'out', 'part.csv'))).length, 30 * 100_001);
  });
});
