/**
 * Champion/challenger shadow scoring through `score` (in-process, one thread and shard threads):
 * the comparison a user reads equals a direct computation on the same rows, an identical
 * challenger agrees everywhere, a challenger that fails never fails the run, and adding a
 * challenger never changes a byte of the published parts.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildLinearClassifier, buildMlp } from '../scripts/models/models.js';
import type { ScoreComparisonSummary, LabelComparisonSummary } from '../src/report/challenger-comparison.js';
import { spearmanOf, mergeComparison, summariseComparison, ColumnComparison, type ComparisonState } from '../src/report/challenger-comparison.js';
import type { RunReport } from '../src/report/run-report.js';
import { scoreRun } from '../src/run/score-run.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { Stores } from '../src/storage/stores.js';
import { openRegistry } from '../src/registry/open-registry.js';
import { registerModel } from '../src/registry/register-model.js';
import { queueHarness, randomPrefix, spawnCli } from './helpers/workers.js';
import { binShares, pointsOf, psi, quantileEdges } from '../src/monitor/drift-metrics.js';
import type { ColumnarBatch } from '../src/core/types.js';
import { newSketch, sketchBuckets, sketchToJson, type Bucket } from '../src/monitor/quantile-sketch.js';
import {
  DATE,
  FEATURES,
  MLP,
  MLP_HEADER,
  directRun,
  f32,
  fixture,
  mlpRows,
  mlpSpec,
  parseCsv,
  parseSpec,
  readOutput,
  toCsv,
  writeIn,
  writeJob,
  type Fixture,
} from './helpers/jobs.js';

const FILES = 3;
const ROWS_PER_FILE = 500;

/** Three input files of MLP rows (ids r0…, s0…, t0…). */
function inputFiles(): { files: Record<string, string>; rows: string[][] } {
  const files: Record<string, string> = {};
  const rows: string[][] = [];
  ['r', 's', 't'].slice(0, FILES).forEach((prefix, i) => {
    const r = mlpRows(ROWS_PER_FILE, { seed: 10 + i, idPrefix: prefix });
    files[`part-${i}.csv`] = toCsv(MLP_HEADER, r);
    rows.push(...r);
  });
  return { files, rows };
}

function withChallenger(challenger: NonNullable<JobSpecInput['model']['challenger']>, output = 'out/{{date}}/'): JobSpecInput {
  const spec = mlpSpec();
  return { ...spec, model: { ...spec.model, challenger }, output: { uri: output } };
}

async function score(f: Fixture, spec: JobSpecInput, threads = 1): Promise<RunReport> {
  const job = await writeJob(f.dir, spec, `job-${Math.random().toString(36).slice(2)}.yaml`);
  const stores = new Stores();
  try {
    const r = await scoreRun(job, stores, { date: DATE, threads });
    assert.equal(r.report.status, 'succeeded', r.report.reason);
    return r.report;
  } finally {
    stores.close();
  }
}

/** The parts a run published, in order, as bytes. */
async function publishedBytes(dir: string): Promise<Buffer[]> {
  const out = await readOutput(dir);
  assert.ok(out.success, `no _SUCCESS in ${dir}`);
  return Promise.all(out.success.parts.map((p) => readFile(path.join(dir, p))));
}

async function mlpScores(model: Uint8Array, rows: readonly string[][]): Promise<Float32Array> {
  const x = new Float32Array(rows.length * FEATURES.length);
  rows.forEach((r, i) => FEATURES.forEach((_, j) => (x[i * FEATURES.length + j] = Number(r[j + 2]))));
  return f32((await directRun(model, { features: new ort.Tensor('float32', x, [rows.length, FEATURES.length]) }))['score']);
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((x[i] as number) - mx) * ((y[i] as number) - my);
    sxx += ((x[i] as number) - mx) ** 2;
    syy += ((y[i] as number) - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function close(actual: number | null, expected: number, tol: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: ${actual} vs expected ${expected} (±${tol})`);
}

test('an identical challenger agrees everywhere, and the published parts are byte-identical to a run without it', async (t) => {
  const { files, rows } = inputFiles();
  const f = await fixture(t, { files });
  await writeIn(f.dir, 'same.onnx', f.model);
  const plain = await score(f, { ...mlpSpec(), output: { uri: 'plain/{{date}}/' } });
  for (const threads of [1, 2]) {
    const out = `with-${threads}/{{date}}/`;
    const report = await score(f, withChallenger({ uri: 'same.onnx', threshold: 0.5 }, out), threads);
    const c = report.challenger;
    assert.ok(c, 'report.challenger');
    assert.equal(c.status, 'compared', c.reason);
    assert.equal(c.rows, rows.length);
    assert.equal(c.model?.sha256, report.model?.sha256);
    const s = c.comparison['score'] as ScoreComparisonSummary;
    assert.equal(s.kind, 'score');
    assert.equal(s.rows, rows.length);
    assert.equal(s.meanAbsDiff, 0);
    assert.equal(s.maxAbsDiff, 0);
    assert.equal(s.psi, 0);
    close(s.pearson, 1, 1e-9, 'pearson');
    assert.equal(s.spearman, 1);
    assert.equal(s.threshold?.agreement, 1);
    assert.deepEqual(s.largestDisagreements, []);
    assert.deepEqual(s.diffQuantiles.p50, 0);
    // The published parts do not change by one byte; the challenger's go to _challenger/.
    const dir = path.join(f.dir, `with-${threads}`, DATE);
    assert.deepEqual(await publishedBytes(dir), await publishedBytes(path.join(f.dir, 'plain', DATE)), `threads ${threads}`);
    assert.equal(c.parts.length, FILES);
    const champion = await readOutput(dir);
    for (const [i, name] of c.parts.entries()) {
      assert.match(name, /^_challenger\/part-0000\d-a1-[0-9a-f]{4}\.csv$/);
      const mine = parseCsv(await readFile(path.join(dir, name), 'utf8'));
      const theirs = parseCsv(await champion.text(champion.success?.parts[i] as string));
      assert.deepEqual(mine.header, ['id', 'score']);
      assert.deepEqual(
        mine.rows,
        theirs.rows.map((r) => [r[0], r[2]]),
      );
    }
    assert.deepEqual(report.scores, plain.scores);
  }
});

test('a different challenger: every figure equals a direct computation on the same rows, on one thread and on shard threads', async (t) => {
  const { files, rows } = inputFiles();
  const f = await fixture(t, { files });
  const other = buildMlp({ ...MLP, seed: 8 });
  await writeIn(f.dir, 'other.onnx', other);
  const x = await mlpScores(f.model, rows);
  const y = await mlpScores(other, rows);
  const diffs = Array.from(x, (v, i) => (y[i] as number) - v);
  const abs = diffs.map(Math.abs);
  const threshold = 0.5;
  const agree = Array.from(x).filter((v, i) => v >= threshold === (y[i] as number) >= threshold).length;
  const expectedTop = rows
    .map((r, i) => ({ id: r[0], d: abs[i] as number }))
    .sort((a, b) => b.d - a.d)
    .slice(0, 10);
  const flat: number[] = [];
  for (let i = 0; i < rows.length; i++) flat.push(i, x[i] as number, y[i] as number);
  const base = pointsOf(Array.from(x));
  const edges = quantileEdges(base);
  const rawPsi = psi(binShares(base, edges), binShares(pointsOf(Array.from(y)), edges));
  // The report's PSI is taken on 1 %-accurate sketch buckets of each model's scores (as the
  // monitoring's drift PSI): the same computation on the direct scores must give it exactly.
  const sketchOf = (v: Float32Array): Bucket[] => {
    const sk = newSketch();
    for (const value of v) sk.accept(value);
    return sketchBuckets(sketchToJson(sk));
  };
  const bx = sketchOf(x);
  const bucketEdges = quantileEdges(bx);
  const directPsi = psi(binShares(bx, bucketEdges), binShares(sketchOf(y), bucketEdges));

  const reports: ScoreComparisonSummary[] = [];
  for (const threads of [1, 2]) {
    const report = await score(f, withChallenger({ uri: 'other.onnx', threshold }, `out-${threads}/{{date}}/`), threads);
    assert.equal(report.challenger?.status, 'compared', report.challenger?.reason);
    const s = report.challenger?.comparison['score'] as ScoreComparisonSummary;
    reports.push(s);
    assert.equal(s.rows, rows.length);
    close(s.meanAbsDiff, abs.reduce((a, b) => a + b, 0) / rows.length, 1e-12, 'mean |Δ|');
    assert.equal(s.maxAbsDiff, Math.max(...abs));
    close(s.meanDiff, diffs.reduce((a, b) => a + b, 0) / rows.length, 1e-12, 'mean Δ');
    close(s.pearson, pearson(x, y), 1e-9, 'pearson');
    // Up to 2,048 rows Spearman is exact: the ranks of all rows.
    close(s.spearman, spearmanOf(flat) as number, 1e-12, 'spearman');
    assert.equal(s.spearmanRows, rows.length);
    assert.equal(s.threshold?.agreement, agree / rows.length);
    close(s.psi, directPsi, 1e-12, 'psi');
    // …and is near PSI on the raw values (deciles move by the mass of the buckets at their edges).
    close(s.psi, rawPsi, rawPsi * 0.1, 'psi vs raw values');
    assert.deepEqual(
      s.largestDisagreements.map((r) => r.ids['id']),
      expectedTop.map((e) => e.id),
    );
    const first = s.largestDisagreements[0];
    assert.equal(first?.diff, (first?.challenger as number) - (first?.champion as number));
    assert.match(first?.object ?? '', /part-\d\.csv$/);
    // Quantiles of Δ within the sketch's 1 % relative accuracy.
    const sorted = [...diffs].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
    close(s.diffQuantiles.p50, median, Math.abs(median) * 0.011 + 1e-9, 'median Δ');
  }
  // Shard threads merge to the same figures (sums in another order: to rounding).
  const [one, two] = reports as [ScoreComparisonSummary, ScoreComparisonSummary];
  assert.deepEqual(two.largestDisagreements, one.largestDisagreements);
  assert.equal(two.spearman, one.spearman);
  assert.equal(two.psi, one.psi);
  close(two.pearson, one.pearson as number, 1e-12, 'pearson, threads');
});

test('label outputs: agreement and confusion equal a direct count', async (t) => {
  const { files, rows } = inputFiles();
  const champion = buildLinearClassifier({ features: 8, classes: 3, seed: 7 });
  const challenger = buildLinearClassifier({ features: 8, classes: 3, seed: 9 });
  const spec: JobSpecInput = {
    ...mlpSpec(),
    model: {
      uri: 'model.onnx',
      inputs: [{ name: 'float_input', columns: [...FEATURES] }],
      outputs: [
        { name: 'label', columns: ['label'] },
        { name: 'probabilities', columns: ['p0', 'p1', 'p2'] },
      ],
      challenger: { uri: 'challenger.onnx', outputs: [{ name: 'label', columns: ['label'] }], parts: false },
    },
  };
  const f = await fixture(t, { files, model: champion, spec });
  await writeIn(f.dir, 'challenger.onnx', challenger);
  const report = await score(f, spec);
  const c = report.challenger;
  assert.equal(c?.status, 'compared', c?.reason);
  assert.deepEqual(Object.keys(c.comparison), ['label'], 'only the columns the challenger maps');
  assert.deepEqual(c.parts, []);
  const feed = (): Record<string, ort.Tensor> => {
    const xs = new Float32Array(rows.length * 8);
    rows.forEach((r, i) => FEATURES.forEach((_, j) => (xs[i * 8 + j] = Number(r[j + 2]))));
    return { float_input: new ort.Tensor('float32', xs, [rows.length, 8]) };
  };
  const a = (await directRun(champion, feed(), ['label']))['label']?.data as BigInt64Array;
  const b = (await directRun(challenger, feed(), ['label']))['label']?.data as BigInt64Array;
  let same = 0;
  const pairs = new Map<string, number>();
  a.forEach((v, i) => {
    if (v === b[i]) same++;
    const k = `${v}→${b[i]}`;
    pairs.set(k, (pairs.get(k) ?? 0) + 1);
  });
  const s = c.comparison['label'] as LabelComparisonSummary;
  assert.equal(s.kind, 'label');
  assert.equal(s.rows, rows.length);
  assert.equal(s.agreement, same / rows.length);
  assert.ok(same < rows.length, 'the two classifiers disagree somewhere');
  assert.deepEqual(new Map(s.confusion.map((p) => [`${p.champion}→${p.challenger}`, p.rows])), pairs);
  assert.equal(s.disagreements.length, 10);
  for (const d of s.disagreements) assert.notEqual(d.champion, d.challenger);
});

test('a challenger that cannot load, does not fit, or throws is reported as failed and the run still publishes', async (t) => {
  const { files } = inputFiles();
  const f = await fixture(t, { files });
  await writeIn(f.dir, 'broken.onnx', 'not an onnx model');
  await writeIn(f.dir, 'other.onnx', buildMlp({ ...MLP, seed: 8 }));
  const plain = await score(f, { ...mlpSpec(), output: { uri: 'plain/{{date}}/' } });
  const expected = await publishedBytes(path.join(f.dir, 'plain', DATE));
  assert.ok(plain.rows.scored > 0);

  const cases: [string, NonNullable<JobSpecInput['model']['challenger']>, RegExp][] = [
    ['broken', { uri: 'broken.onnx' }, /challenger .*broken\.onnx.*not a valid ONNX model/],
    ['missing', { uri: 'nowhere.onnx' }, /challenger .*nowhere\.onnx.*cannot be read/],
    ['misfit', { uri: 'other.onnx', outputs: [{ name: 'probability', columns: ['score'] }] }, /has no output "probability".*does not fit/],
  ];
  for (const [name, challenger, reason] of cases) {
    const report = await score(f, withChallenger(challenger, `${name}/{{date}}/`));
    assert.equal(report.challenger?.status, 'failed', name);
    assert.match(report.challenger?.reason ?? '', reason);
    assert.deepEqual(await publishedBytes(path.join(f.dir, name, DATE)), expected, name);
  }

  // Throwing in the middle of a shard: the failpoint fires once (first shard's first batch).
  process.env.NIGHTSHIFT_FAILPOINTS = 'challenger-batch:throw';
  t.after(() => delete process.env.NIGHTSHIFT_FAILPOINTS);
  const report = await score(f, withChallenger({ uri: 'other.onnx' }, 'throws/{{date}}/'));
  assert.equal(report.challenger?.status, 'failed');
  assert.match(report.challenger?.reason ?? '', /^shard 00000: challenger .*other\.onnx: failpoint challenger-batch:throw/);
  assert.deepEqual(report.challenger?.comparison, {});
  const dir = path.join(f.dir, 'throws', DATE);
  assert.deepEqual(await publishedBytes(dir), expected);
  const names = (await readOutput(dir)).names;
  assert.ok(!names.includes(names.find((n) => n.startsWith('_challenger/part-00000')) ?? '-'), `the failed shard left no challenger part: ${names.join(', ')}`);
});

test('comparison states merge exactly: one state of all rows equals merged states of any split', () => {
  const rows = 3000;
  const lines = Array.from({ length: rows }, (_, i) => i + 2);
  const x = Float32Array.from({ length: rows }, (_, i) => Math.abs(Math.sin(i * 12.9898)) % 1);
  const y = Float32Array.from(x, (v, i) => Math.min(1, Math.max(0, v + (((i * 7919) % 101) - 50) / 1000)));
  const batch = (from: number, to: number): [ColumnarBatch, ReturnType<typeof scoreOf>, ReturnType<typeof scoreOf>] => [
    {
      rows: to - from,
      features: new Map(),
      ids: [Array.from({ length: to - from }, (_, i) => `id${from + i}`)],
      passthrough: [],
      lines: lines.slice(from, to),
    },
    scoreOf(x.slice(from, to)),
    scoreOf(y.slice(from, to)),
  ];
  const column = { column: 'score', champion: { output: 0, offset: 0 }, challenger: { output: 0, offset: 0 }, threshold: 0.5 };
  const collect = (ranges: [number, number][]): ComparisonState => {
    const states = ranges.map(([a, b]) => {
      const c = new ColumnComparison(column);
      const [bt, cs, hs] = batch(a, b);
      c.add(bt, [cs], [hs], { object: 'in.csv', idColumns: ['id'] });
      return c.toJson() as ComparisonState;
    });
    return states.slice(1).reduce((acc, s) => mergeComparison(acc, s), states[0] as ComparisonState);
  };
  const whole = summariseComparison(collect([[0, rows]])) as ScoreComparisonSummary;
  const split = summariseComparison(
    collect([
      [0, 700],
      [700, 701],
      [701, 2500],
      [2500, rows],
    ]),
  ) as ScoreComparisonSummary;
  assert.equal(whole.spearmanRows, 2048, 'above 2,048 rows Spearman is taken on a sample');
  assert.equal(split.spearman, whole.spearman, 'the same sample rows whatever the split');
  assert.deepEqual(split.largestDisagreements, whole.largestDisagreements);
  assert.deepEqual(split.diffQuantiles, whole.diffQuantiles);
  assert.equal(split.psi, whole.psi);
  assert.deepEqual(split.threshold, whole.threshold);
  assert.equal(split.maxAbsDiff, whole.maxAbsDiff);
  close(split.meanAbsDiff, whole.meanAbsDiff as number, 1e-12, 'mean |Δ|');
  close(split.pearson, whole.pearson as number, 1e-12, 'pearson');
  // The sample's Spearman is near the exact one on all rows.
  const flat: number[] = [];
  for (let i = 0; i < rows; i++) flat.push(i, x[i] as number, y[i] as number);
  close(whole.spearman, spearmanOf(flat) as number, 0.03, 'sampled spearman');
});

function scoreOf(values: Float32Array): { name: string; width: number; values: Float32Array } {
  return { name: 'score', width: 1, values };
}

test("model.challenger in the spec: columns must be the champion's, one source, a known threshold column", () => {
  const base = mlpSpec();
  const bad = (challenger: unknown): string => {
    try {
      parseSpec({ ...base, model: { ...base.model, challenger } } as JobSpecInput);
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  assert.match(
    bad({ uri: 'a.onnx', outputs: [{ name: 'score', columns: ['p_fraud'] }] }),
    /model\.challenger\.outputs\.0\.columns\.0: "p_fraud" is not a column of model\.outputs/,
  );
  assert.match(bad({ uri: 'a.onnx', ref: 'fraud@challenger' }), /model\.challenger: give uri or ref, not both/);
  assert.match(bad({}), /model\.challenger: give either uri/);
  assert.match(bad({ ref: 'fraud@challenger', threshold: { p: 0.5 } }), /model\.challenger\.threshold\.p: not a score column/);
  assert.match(bad({ ref: 'fraud@challenger', extra: 1 }), /extra/);
  const ok = parseSpec({ ...base, model: { ...base.model, challenger: { ref: 'fraud@challenger', threshold: 0.7 } } });
  assert.equal(ok.spec.model.challenger?.parts, true, 'parts default on');
});

describe('champion/challenger on workers (real worker processes, real Redis)', () => {
  it('every shard scores both models; the comparison equals the in-process one; parts are unchanged', { timeout: 180_000 }, async (t) => {
    const q = await queueHarness(t);
    const { files } = inputFiles();
    const f = await fixture(t, { files });
    const registry = path.join(f.dir, 'registry');
    await mkdir(registry);
    const stores = new Stores();
    t.after(() => stores.close());
    const reg = await openRegistry(registry, stores);
    await registerModel(reg, { name: 'fraud', bytes: f.model, source: 'v1.onnx', by: 'ana', alias: 'champion' });
    await registerModel(reg, { name: 'fraud', bytes: buildMlp({ ...MLP, seed: 8 }), source: 'v2.onnx', by: 'ana', alias: 'challenger' });
    const spec = mlpSpec();
    const model = { ref: 'fraud@champion', registry, inputs: spec.model.inputs, outputs: spec.model.outputs };
    const withC: JobSpecInput = { ...spec, model: { ...model, challenger: { ref: 'fraud@challenger', registry, threshold: 0.5 } } };
    const job = await writeJob(f.dir, withC);

    await q.spawnWorker();
    const { runId, attempt } = await q.trigger(job, DATE);
    const rec = await q.waitForRun(runId, attempt);
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${q.logs()}`);
    const out = await readOutput(f.outputDir);
    const c = out.report?.challenger;
    assert.equal(c?.status, 'compared', `${c?.reason ?? ''}\n${q.logs()}`);
    assert.deepEqual([c.model?.name, c.model?.version, c.model?.alias], ['fraud', 2, 'challenger']);
    assert.deepEqual([out.report?.model?.version, out.report?.model?.alias], [1, 'champion']);
    assert.equal(c.parts.length, FILES);
    for (const p of c.parts) assert.ok(out.names.includes(p), `${p} in ${out.names.join(', ')}`);

    // The same job in-process: the same comparison; without a challenger: the same parts.
    const local = await score(f, { ...withC, output: { uri: 'local/{{date}}/' } });
    const plain = await score(f, { ...spec, model, output: { uri: 'plain/{{date}}/' } });
    assert.ok(plain.challenger === undefined);
    const a = c.comparison['score'] as ScoreComparisonSummary;
    const b = local.challenger?.comparison['score'] as ScoreComparisonSummary;
    assert.equal(a.rows, b.rows);
    assert.deepEqual(a.largestDisagreements, b.largestDisagreements);
    assert.deepEqual([a.spearman, a.psi, a.threshold, a.maxAbsDiff, a.diffQuantiles], [b.spearman, b.psi, b.threshold, b.maxAbsDiff, b.diffQuantiles]);
    close(a.pearson, b.pearson as number, 1e-12, 'pearson');
    close(a.meanAbsDiff, b.meanAbsDiff as number, 1e-12, 'mean |Δ|');
    assert.deepEqual(await publishedBytes(f.outputDir), await publishedBytes(path.join(f.dir, 'plain', DATE)));

    // The run's record (nightshift run, GET /runs/:id) has it in one line.
    assert.match(rec.challenger ?? '', /^fraud@2 \(fraud@challenger\): compared on 1500 rows; score: mean \|Δ\| [\d.e-]+, max/);
    const shownRun = q.cli(['run', runId]);
    assert.equal((await shownRun.waitForExit(60_000)).code, 0, shownRun.output);
    assert.match(shownRun.output, /\n {2}challenger fraud@2 \(fraud@challenger\): compared on 1500 rows; score: /);

    // `nightshift output job@date --comparison` shows it from the published run's report.
    const shown = q.cli(['output', `${job.file}@${DATE}`, '--comparison']);
    assert.equal((await shown.waitForExit(60_000)).code, 0, shown.output);
    assert.match(shown.output, /champion fraud@1 \(fraud@champion\), 1500 rows scored/);
    assert.match(shown.output, /challenger fraud@2 \(fraud@challenger\): compared on 1500 rows/);
    assert.match(shown.output, /score: mean \|Δ\| [\d.e-]+, max \|Δ\| [\d.e-]+, Pearson [\d.e-]+, Spearman [\d.e-]+, PSI [\d.e-]+, agreement at 0\.5 [\d.]+ %/);

    // A rerun removes the older attempt's challenger parts with its parts.
    const again = await q.trigger(job, DATE, { rerun: true });
    assert.equal((await q.waitForRun(again.runId, again.attempt)).status, 'succeeded');
    const after = await readOutput(f.outputDir);
    assert.deepEqual(
      after.names.filter((n) => n.startsWith('_challenger/')),
      after.report?.challenger?.parts,
    );
  });

  it('a challenger that throws on a worker, or that does not resolve at plan, is reported; the run publishes', { timeout: 180_000 }, async (t) => {
    const q = await queueHarness(t);
    const { files } = inputFiles();
    const f = await fixture(t, { files });
    await writeIn(f.dir, 'other.onnx', buildMlp({ ...MLP, seed: 8 }));
    await q.spawnWorker({ NIGHTSHIFT_FAILPOINTS: 'challenger-batch:throw' });
    const job = await writeJob(f.dir, withChallenger({ uri: 'other.onnx' }));
    const { runId, attempt } = await q.trigger(job, DATE);
    const rec = await q.waitForRun(runId, attempt);
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${q.logs()}`);
    const out = await readOutput(f.outputDir);
    assert.ok(out.success);
    assert.equal(out.report?.challenger?.status, 'failed');
    assert.match(out.report?.challenger?.reason ?? '', /^shard 0000\d: challenger .*other\.onnx: failpoint challenger-batch:throw/);

    const missing = await writeJob(
      f.dir,
      { ...withChallenger({ ref: 'fraud@challenger', registry: path.join(f.dir, 'no-registry') }, 'missing/{{date}}/'), name: 'other-job' },
      'missing.yaml',
    );
    const second = await q.trigger(missing, DATE);
    const rec2 = await q.waitForRun(second.runId, second.attempt);
    assert.equal(rec2.status, 'succeeded', `${rec2.reason ?? ''}\n${q.logs()}`);
    const out2 = await readOutput(path.join(f.dir, 'missing', DATE));
    assert.equal(out2.report?.challenger?.status, 'failed');
    assert.match(out2.report?.challenger?.reason ?? '', /^challenger fraud@challenger: .*no-registry/);
  });
});

test('validate fails a job whose challenger would fail every run, and passes one whose challenger fits', { timeout: 120_000 }, async (t) => {
  const f = await fixture(t, { files: {} });
  await writeIn(f.dir, 'broken.onnx', 'not an onnx model');
  await writeIn(f.dir, 'other.onnx', buildMlp({ ...MLP, seed: 8 }));
  const bad = await writeJob(f.dir, withChallenger({ uri: 'broken.onnx' }), 'bad.yaml');
  const good = await writeJob(f.dir, withChallenger({ uri: 'other.onnx' }), 'good.yaml');
  const run = async (file: string): Promise<{ code: number | null; output: string }> => {
    const c = spawnCli(['validate', file], { prefix: randomPrefix() });
    const exit = await c.waitForExit(60_000);
    return { code: exit.code, output: c.output };
  };
  const b = await run(bad.file);
  assert.equal(b.code, 2, b.output);
  assert.match(
    b.output,
    /FAIL .*bad\.yaml: invalid job spec:\n {2}- model\.challenger: challenger .*broken\.onnx: .*not a valid ONNX model.* \(runs would score without it\)/,
  );
  const g = await run(good.file);
  assert.equal(g.code, 0, g.output);
  assert.match(g.output, /^ok {3}.*good\.yaml/m);
});
