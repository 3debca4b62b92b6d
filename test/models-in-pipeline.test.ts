/**
 * Generated models (scripts/models) through the real pipeline: a multi-input per-column model
 * with a string input and two outputs, ZipMap classifiers scored through the load-time
 * rewrite, and every way a model can not fit its job — each failing with a clear error before
 * any output object is written.
 *
 *   node --import tsx --test test/models-in-pipeline.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import ort from 'onnxruntime-node';
import {
  buildLinearClassifier,
  buildMlp,
  buildPerColumnModel,
  buildZipMapClassifier,
  KNOWN_COUNTRIES,
  linearClassifierWeights,
  mulberry32,
  perColumnParams,
  type LinearClassifierWeights,
} from '../scripts/models/models.js';
import { JobSpecError, ModelError } from '../src/core/errors.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { directRun, f32, fixture, listFiles, MLP, MLP_HEADER, mlpRows, mlpSpec, parseCsv, readOutput, runJob, toCsv } from './helpers/jobs.js';

const TOL = 1e-6;

/** ai.onnx.ml LinearClassifier in float64: scores = x·Wᵀ + b, post_transform, label = argmax. */
function linearReference(w: LinearClassifierWeights, x: readonly number[][]): { labels: number[]; probabilities: number[][] } {
  const classes = w.intercepts.length;
  const features = w.coefficients.length / classes;
  const labels: number[] = [];
  const probabilities: number[][] = [];
  for (const row of x) {
    const scores = Array.from({ length: classes }, (_, c) => row.reduce((s, v, f) => s + v * (w.coefficients[c * features + f] ?? 0), w.intercepts[c] ?? 0));
    let probs = scores.map((s) => 1 / (1 + Math.exp(-s)));
    if (w.postTransform === 'SOFTMAX') {
      const e = scores.map((s) => Math.exp(s - Math.max(...scores)));
      probs = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    }
    labels.push(w.classLabels[scores.indexOf(Math.max(...scores))] ?? -1);
    probabilities.push(probs);
  }
  return { labels, probabilities };
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] ?? NaN)) <= TOL, `${what}[${i}]: got ${a}, expected ${expected[i]}`));
}

describe('multi-input model with a string input and several outputs', () => {
  it('per-column model: amount, age (float32) and country (string) in; int64 label and probabilities out', async (t) => {
    const rand = mulberry32(5);
    const countries = [...KNOWN_COUNTRIES, 'ZZ', '', 'us'];
    const rows = Array.from({ length: 70 }, (_, i) => [
      `c${i}`,
      (rand() * 900).toFixed(2),
      String(18 + Math.floor(rand() * 70)),
      countries[i % countries.length] as string,
    ]);
    const spec: JobSpecInput = {
      name: 'per-column',
      model: {
        uri: 'model.onnx',
        inputs: [
          { name: 'amount', columns: ['amount'] },
          { name: 'age', columns: ['age'] },
          { name: 'country', columns: ['country'], dtype: 'string' },
        ],
        outputs: [
          { name: 'label', columns: ['label'] },
          { name: 'probabilities', columns: ['p_legit', 'p_fraud'] },
        ],
      },
      input: { uri: 'in/{{date}}/', id: ['id'] },
      output: { uri: 'out/{{date}}/' },
      limits: { batchRows: 16 },
    };
    const model = buildPerColumnModel({ seed: 13 });
    const fx = await fixture(t, { files: { 'data.csv': toCsv(['id', 'amount', 'age', 'country'], rows) }, spec, model });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    assert.equal(report.rows.scored, rows.length);
    const part = parseCsv(await (await readOutput(fx.outputDir)).onlyPart());
    assert.deepEqual(part.header, ['id', 'label', 'p_legit', 'p_fraud']);
    assert.deepEqual(
      part.rows.map((r) => r[0]),
      rows.map((r) => r[0]),
    );

    // 1) a direct session.run on the same rows
    const n = rows.length;
    const direct = await directRun(model, {
      amount: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => Number(r[1])),
        [n, 1],
      ),
      age: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => Number(r[2])),
        [n, 1],
      ),
      country: new ort.Tensor(
        'string',
        rows.map((r) => r[3] as string),
        [n, 1],
      ),
    });
    assert.deepEqual(
      part.rows.map((r) => r[1]),
      Array.from(direct['label']?.data as BigInt64Array, String),
    );
    assert.deepEqual(
      part.rows.flatMap((r) => [Math.fround(Number(r[2])), Math.fround(Number(r[3]))]),
      Array.from(f32(direct['probabilities'])),
    );

    // 2) the exported scaler and classifier parameters
    const p = perColumnParams({ seed: 13 });
    const x = rows.map((r) =>
      [Math.fround(Number(r[1])), Math.fround(Number(r[2])), ...p.countries.map((c) => (c === r[3] ? 1 : 0))].map(
        (v, j) => (v - (p.scalerOffset[j] ?? 0)) * (p.scalerScale[j] ?? 1),
      ),
    );
    const ref = linearReference(p.classifier, x);
    assert.deepEqual(
      part.rows.map((r) => Number(r[1])),
      ref.labels,
    );
    assertClose(
      part.rows.flatMap((r) => [Number(r[2]), Number(r[3])]),
      ref.probabilities.flat(),
      'probabilities',
    );
    assert.ok(new Set(ref.labels).size > 1, 'both classes occur');
    assert.deepEqual(Object.keys(report.scores).sort(), ['label', 'p_fraud', 'p_legit']);
  });
});

describe('ZipMap classifiers', () => {
  for (const classes of [2, 3]) {
    it(`${classes} classes: output_probability (sequence of maps) is scored as ${classes} columns via the rewrite`, async (t) => {
      const opts = { features: 4, classes, seed: 11 };
      const probCols = Array.from({ length: classes }, (_, i) => `p${i}`);
      const spec: JobSpecInput = {
        name: 'zipmap',
        model: {
          uri: 'model.onnx',
          inputs: [{ name: 'float_input', columns: ['x0', 'x1', 'x2', 'x3'] }],
          outputs: [
            { name: 'output_label', columns: ['label'] },
            { name: 'output_probability', columns: probCols },
          ],
        },
        input: { uri: 'in/{{date}}/', id: ['id'] },
        output: { uri: 'out/{{date}}/' },
      };
      const rand = mulberry32(21);
      const rows = Array.from({ length: 60 }, (_, i) => [`z${i}`, ...Array.from({ length: 4 }, () => ((rand() - 0.5) * 6).toFixed(3))]);
      const model = buildZipMapClassifier(opts);
      const fx = await fixture(t, { files: { 'data.csv': toCsv(['id', 'x0', 'x1', 'x2', 'x3'], rows) }, spec, model });
      const { report } = await runJob(fx.job);
      assert.equal(report.status, 'succeeded', report.reason);
      assert.deepEqual(report.model?.zipMapRewrites, [{ output: 'output_probability', classLabels: Array.from({ length: classes }, (_, i) => i) }]);

      const part = parseCsv(await (await readOutput(fx.outputDir)).onlyPart());
      assert.deepEqual(part.header, ['id', 'label', ...probCols]);
      const x = rows.map((r) => r.slice(1).map((v) => Math.fround(Number(v))));
      const feeds = { float_input: new ort.Tensor('float32', Float32Array.from(x.flat()), [rows.length, 4]) };
      // Labels: the unmodified model's tensor output, fetched directly.
      const labels = (await directRun(model, feeds, ['output_label']))['output_label']?.data as BigInt64Array;
      assert.deepEqual(
        part.rows.map((r) => r[1]),
        Array.from(labels, String),
      );
      // Probabilities: the exported coefficients (and, for 2 classes, the plain LinearClassifier).
      const ref = linearReference(linearClassifierWeights(opts), x);
      const got = part.rows.map((r) => r.slice(2).map(Number));
      assertClose(got.flat(), ref.probabilities.flat(), 'output_probability');
      if (classes === 2) {
        const plain = f32((await directRun(buildLinearClassifier(opts), feeds))['probabilities']);
        assert.deepEqual(got.flat().map(Math.fround), Array.from(plain));
      }
    });
  }
});

describe('a model that does not fit its job fails before any output is written', () => {
  /** Runs a job that must fail; asserts the error and that nothing exists under out/. */
  async function assertFailsBeforeOutput(
    t: TestContext,
    setup: { spec?: JobSpecInput; model?: Uint8Array },
    kind: typeof JobSpecError | typeof ModelError,
    message: RegExp,
  ): Promise<void> {
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, mlpRows(10)) }, ...setup });
    await assert.rejects(runJob(fx.job), (err: unknown) => {
      assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
      assert.match(err.message, message);
      if (err instanceof JobSpecError) assert.equal(err.file, fx.job.file, 'the error names the spec file');
      return true;
    });
    assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), [], 'the output prefix is empty');
  }

  it('a dtype that differs from the model input', async (t) => {
    const spec = mlpSpec();
    spec.model.inputs[0] = { name: 'features', columns: MLP_HEADER.slice(2), dtype: 'float64' };
    await assertFailsBeforeOutput(t, { spec }, JobSpecError, /model\.inputs\.0\.dtype: model input "features" is float32, the job says float64/);
  });

  it('a feature count that differs from the model input width', async (t) => {
    const spec = mlpSpec();
    spec.model.inputs[0] = { name: 'features', columns: MLP_HEADER.slice(2, 9) };
    await assertFailsBeforeOutput(
      t,
      { spec },
      JobSpecError,
      /model\.inputs\.0\.columns: model input "features" has shape \[N, 8\]; it has 8 values per row, the job lists 7 column/,
    );
  });

  it('an input name the model does not have', async (t) => {
    const spec = mlpSpec();
    spec.model.inputs[0] = { name: 'feats', columns: MLP_HEADER.slice(2) };
    await assertFailsBeforeOutput(
      t,
      { spec },
      JobSpecError,
      /model\.inputs\.0\.name: model \S+model\.onnx has no input "feats" \(it has: "features" float32 \[N, 8\]\)/,
    );
  });

  it('an output name the model does not have', async (t) => {
    const spec = mlpSpec();
    spec.model.outputs = [{ name: 'probability', columns: ['score'] }];
    await assertFailsBeforeOutput(
      t,
      { spec },
      JobSpecError,
      /model\.outputs\.0\.name: model \S+ has no output "probability" \(it has: "score" float32 \[N, 1\]\)/,
    );
  });

  it('a corrupt model file', async (t) => {
    const model = new TextEncoder().encode('this is not an ONNX model\n'.repeat(20));
    await assertFailsBeforeOutput(t, { model }, ModelError, /model \S+model\.onnx is not a valid ONNX model: .*cannot parse ONNX model/);
  });

  it('a truncated model file', async (t) => {
    const full = buildMlp(MLP);
    await assertFailsBeforeOutput(
      t,
      { model: full.subarray(0, Math.floor(full.length / 2)) },
      ModelError,
      /model \S+model\.onnx is not a valid ONNX model: .*cannot parse ONNX model/,
    );
  });

  it('a sha256 pin that does not match the model; the right pin scores', async (t) => {
    const model = buildMlp(MLP);
    const actual = createHash('sha256').update(model).digest('hex');
    const other = createHash('sha256')
      .update(buildMlp({ ...MLP, seed: MLP.seed + 1 }))
      .digest('hex');
    const spec = mlpSpec();
    spec.model.sha256 = other;
    await assertFailsBeforeOutput(t, { spec, model }, ModelError, new RegExp(`has sha256 ${actual}, but the job pins model\\.sha256 ${other}`));

    const good = mlpSpec();
    good.model.sha256 = actual;
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, mlpRows(10)) }, spec: good, model });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded');
    assert.equal(report.model?.sha256, actual);
  });

  it('a model that stops fitting leaves the previously published run untouched', async (t) => {
    const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, mlpRows(10)) } });
    assert.equal((await runJob(fx.job)).report.status, 'succeeded');
    const before = await readOutput(fx.outputDir);
    const beforeText = await Promise.all(before.names.map((n) => before.text(n)));

    await writeFile(path.join(fx.dir, 'model.onnx'), buildMlp({ features: 6, hidden: 4, seed: 1 }));
    await assert.rejects(runJob(fx.job), JobSpecError);
    const after = await readOutput(fx.outputDir);
    assert.deepEqual(after.names, before.names);
    assert.deepEqual(await Promise.all(after.names.map((n) => after.text(n))), beforeText);
  });
});
