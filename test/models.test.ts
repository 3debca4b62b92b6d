/**
 * Generated models load in a real onnxruntime-node session and produce what
 * their parameters say they should. Expected values are recomputed in plain JS
 * from the exported weights, independently of onnxruntime.
 *
 *   node --import tsx --test test/models.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

import { writeModels } from '../scripts/make-models.js';
import {
  buildLinearClassifier,
  buildMlp,
  buildPerColumnModel,
  buildZipMapClassifier,
  KNOWN_COUNTRIES,
  linearClassifierWeights,
  mlpWeights,
  mulberry32,
  perColumnParams,
  type LinearClassifierWeights,
  type MlpWeights,
} from '../scripts/models/models.js';
import { attr, decodeModel, encodeModel, makeNode, ML_DOMAIN, seqMapType, tensorInfo, valueInfo } from '../scripts/models/onnx-builder.js';
import { rewriteZipMap } from '../src/model/zipmap-rewrite.js';

const TOL = 1e-6;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const sessions: InferenceSession[] = [];
async function load(model: Uint8Array): Promise<InferenceSession> {
  const s = await ort.InferenceSession.create(model);
  sessions.push(s);
  return s;
}
after(async () => {
  for (const s of sessions) await s.release();
});

function randomRows(rows: number, cols: number, seed: number, scale = 1.5): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = (rand() * 2 - 1) * scale;
  return x;
}

function f32(t: Tensor | undefined, name: string): Float32Array {
  assert.ok(t, `missing output ${name}`);
  assert.equal(t.type, 'float32', `${name} dtype`);
  assert.ok(t.data instanceof Float32Array);
  return t.data;
}

function i64(t: Tensor | undefined, name: string): BigInt64Array {
  assert.ok(t, `missing output ${name}`);
  assert.equal(t.type, 'int64', `${name} dtype`);
  assert.ok(t.data instanceof BigInt64Array);
  return t.data;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= tol, `${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}

function metadataOf(meta: readonly InferenceSession.ValueMetadata[]): unknown[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Reference MLP forward pass in float64 from the exported float32 weights. */
function mlpReference(w: MlpWeights, x: Float32Array, features: number, hidden: number): number[] {
  const rows = x.length / features;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let logit = w.b2[0] ?? 0;
    for (let h = 0; h < hidden; h++) {
      let acc = w.b1[h] ?? 0;
      for (let f = 0; f < features; f++) acc += (x[r * features + f] ?? 0) * (w.w1[f * hidden + h] ?? 0);
      logit += Math.max(0, acc) * (w.w2[h] ?? 0);
    }
    out.push(sigmoid(logit));
  }
  return out;
}

/** Reference ai.onnx.ml LinearClassifier: scores = x·Wᵀ + b, then post_transform; label = argmax. */
function linearReference(w: LinearClassifierWeights, x: ArrayLike<number>, features: number): { labels: number[]; probabilities: number[] } {
  const classes = w.intercepts.length;
  const rows = x.length / features;
  const labels: number[] = [];
  const probabilities: number[] = [];
  for (let r = 0; r < rows; r++) {
    const scores: number[] = [];
    for (let c = 0; c < classes; c++) {
      let s = w.intercepts[c] ?? 0;
      for (let f = 0; f < features; f++) s += (x[r * features + f] ?? 0) * (w.coefficients[c * features + f] ?? 0);
      scores.push(s);
    }
    let probs: number[];
    if (w.postTransform === 'SOFTMAX') {
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const sum = e.reduce((a, b) => a + b, 0);
      probs = e.map((v) => v / sum);
    } else {
      probs = scores.map(sigmoid);
    }
    const best = scores.indexOf(Math.max(...scores));
    labels.push(w.classLabels[best] ?? -1);
    probabilities.push(...probs);
  }
  return { labels, probabilities };
}

// ---------------------------------------------------------------------------
// MLP
// ---------------------------------------------------------------------------

describe('buildMlp', () => {
  for (const [features, hidden, seed] of [
    [8, 16, 42],
    [32, 64, 32],
  ] as const) {
    it(`${features}->${hidden}->1 loads, has the expected metadata and matches a JS forward pass`, async () => {
      const s = await load(buildMlp({ features, hidden, seed }));
      assert.deepEqual(metadataOf(s.inputMetadata), [{ name: 'features', type: 'float32', shape: ['N', features] }]);
      assert.deepEqual(metadataOf(s.outputMetadata), [{ name: 'score', type: 'float32', shape: ['N', 1] }]);

      const rows = 64;
      const x = randomRows(rows, features, seed + 1);
      const out = await s.run({ features: new ort.Tensor('float32', x, [rows, features]) });
      assert.deepEqual(Object.keys(out), ['score']);
      assert.deepEqual(out['score']?.dims, [rows, 1]);
      const score = f32(out['score'], 'score');
      assertClose(score, mlpReference(mlpWeights({ features, hidden, seed }), x, features, hidden), 1e-6, 'score');
    });
  }

  it('scores are spread over (0,1), not saturated', async () => {
    const features = 8;
    const s = await load(buildMlp({ features, hidden: 16, seed: 42 }));
    const rows = 1000;
    const out = await s.run({ features: new ort.Tensor('float32', randomRows(rows, features, 5), [rows, features]) });
    const score = Array.from(f32(out['score'], 'score')).sort((a, b) => a - b);
    const q = (p: number): number => score[Math.floor(p * (rows - 1))] ?? NaN;
    assert.ok(q(0) > 0 && q(1) < 1, 'strictly inside (0,1)');
    assert.ok(q(0.05) < 0.25, `p5 ${q(0.05)} should be low`);
    assert.ok(q(0.95) > 0.75, `p95 ${q(0.95)} should be high`);
    assert.ok(q(0.05) > 1e-4 && q(0.95) < 1 - 1e-4, 'not saturated');
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const a = buildMlp({ features: 8, hidden: 16, seed: 1 });
    assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype, 'plain Uint8Array, not a pooled Buffer');
    assert.deepEqual(buildMlp({ features: 8, hidden: 16, seed: 1 }), a);
    assert.notDeepEqual(buildMlp({ features: 8, hidden: 16, seed: 2 }), a);
  });

  it('declares ir_version 8 and opsets "" 17 / ai.onnx.ml 3', () => {
    const m = decodeModel(buildMlp({ features: 8, hidden: 16, seed: 1 }));
    assert.equal(Number(m.irVersion), 8);
    assert.deepEqual(
      m.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [
        ['', 17],
        ['ai.onnx.ml', 3],
      ],
    );
  });
});

// ---------------------------------------------------------------------------
// LinearClassifier
// ---------------------------------------------------------------------------

describe('buildLinearClassifier', () => {
  for (const classes of [3, 2]) {
    it(`${classes} classes: int64 label [N] + float32 probabilities [N,${classes}] match a JS reference`, async () => {
      const opts = { features: 4, classes, seed: 7 };
      const s = await load(buildLinearClassifier(opts));
      assert.deepEqual(metadataOf(s.inputMetadata), [{ name: 'float_input', type: 'float32', shape: ['N', 4] }]);
      assert.deepEqual(metadataOf(s.outputMetadata), [
        { name: 'label', type: 'int64', shape: ['N'] },
        { name: 'probabilities', type: 'float32', shape: ['N', classes] },
      ]);

      const rows = 50;
      const x = randomRows(rows, 4, 3, 3);
      const out = await s.run({ float_input: new ort.Tensor('float32', x, [rows, 4]) });
      assert.deepEqual(out['label']?.dims, [rows]);
      assert.deepEqual(out['probabilities']?.dims, [rows, classes]);
      const ref = linearReference(linearClassifierWeights(opts), x, 4);
      assert.deepEqual(Array.from(i64(out['label'], 'label'), Number), ref.labels);
      const probs = f32(out['probabilities'], 'probabilities');
      assertClose(probs, ref.probabilities, TOL, 'probabilities');
      for (let r = 0; r < rows; r++) {
        const sum = probs.subarray(r * classes, (r + 1) * classes).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
      }
      // Labels are not all the same class: the weights actually discriminate.
      assert.ok(new Set(ref.labels).size > 1);
    });
  }

  it('binary weights follow the sklearn-onnx layout ([-w, w], LOGISTIC)', () => {
    const w = linearClassifierWeights({ features: 3, classes: 2, seed: 1 });
    assert.equal(w.postTransform, 'LOGISTIC');
    for (let j = 0; j < 3; j++) assert.equal(w.coefficients[j], -(w.coefficients[3 + j] ?? NaN));
    assert.equal(w.intercepts[0], -(w.intercepts[1] ?? NaN));
    assert.equal(linearClassifierWeights({ features: 3, classes: 4, seed: 1 }).postTransform, 'SOFTMAX');
  });
});

// ---------------------------------------------------------------------------
// ZipMap classifier + rewrite
// ---------------------------------------------------------------------------

describe('buildZipMapClassifier + rewriteZipMap', () => {
  const opts = { features: 4, classes: 2, seed: 11 };
  const rows = 40;
  const x = randomRows(rows, 4, 17, 3);
  const feeds = (): Record<string, Tensor> => ({ float_input: new ort.Tensor('float32', x, [rows, 4]) });

  it('raw model: output_probability is a non-tensor that onnxruntime-node cannot fetch', async () => {
    const s = await load(buildZipMapClassifier(opts));
    assert.deepEqual(metadataOf(s.outputMetadata), [
      { name: 'output_label', type: 'int64', shape: ['N'] },
      { name: 'output_probability', isTensor: false },
    ]);
    await assert.rejects(s.run(feeds()), /Non tensor type/);
    // The tensor output alone is still fetchable.
    const out = await s.run(feeds(), ['output_label']);
    assert.deepEqual(out['output_label']?.dims, [rows]);
  });

  it('rewritten model: output_probability is float32 [N,2] equal to the LinearClassifier probabilities', async () => {
    const raw = buildZipMapClassifier(opts);
    const rawCopy = new Uint8Array(raw); // a real copy (Buffer#slice would share memory)
    const { model, rewritten } = rewriteZipMap(raw);
    assert.deepEqual(raw, rawCopy, 'input bytes are not mutated');
    assert.deepEqual(rewritten, [{ output: 'output_probability', classLabels: [0, 1] }]);

    const s = await load(model);
    assert.deepEqual(metadataOf(s.inputMetadata), [{ name: 'float_input', type: 'float32', shape: ['N', 4] }]);
    assert.deepEqual(metadataOf(s.outputMetadata), [
      { name: 'output_label', type: 'int64', shape: ['N'] },
      { name: 'output_probability', type: 'float32', shape: ['N', 2] },
    ]);

    const out = await s.run(feeds());
    assert.deepEqual(out['output_probability']?.dims, [rows, 2]);
    const probs = f32(out['output_probability'], 'output_probability');

    // 1) independent JS recomputation from the exported coefficients
    const ref = linearReference(linearClassifierWeights(opts), x, 4);
    assertClose(probs, ref.probabilities, TOL, 'output_probability vs JS');
    assert.deepEqual(Array.from(i64(out['output_label'], 'output_label'), Number), ref.labels);

    // 2) the plain LinearClassifier model with the same options
    const plain = await load(buildLinearClassifier(opts));
    const plainOut = await plain.run(feeds());
    assertClose(probs, f32(plainOut['probabilities'], 'probabilities'), TOL, 'output_probability vs LinearClassifier');
  });

  it('rewrites a multiclass (Normalizer + ZipMap) classifier too', async () => {
    const o3 = { features: 4, classes: 3, seed: 11 };
    const { model, rewritten } = rewriteZipMap(buildZipMapClassifier(o3));
    assert.deepEqual(rewritten, [{ output: 'output_probability', classLabels: [0, 1, 2] }]);
    const s = await load(model);
    const out = await s.run(feeds());
    assert.deepEqual(out['output_probability']?.dims, [rows, 3]);
    assertClose(
      f32(out['output_probability'], 'output_probability'),
      linearReference(linearClassifierWeights(o3), x, 4)['probabilities'],
      TOL,
      'multiclass output_probability',
    );
  });

  it('handles string class labels', async () => {
    const labels = ['legit', 'fraud'];
    const model = encodeModel({
      graphName: 'string_labels',
      inputs: [tensorInfo('x', 'float32', ['N', 2])],
      outputs: [tensorInfo('output_label', 'string', ['N']), valueInfo('output_probability', seqMapType('string'))],
      nodes: [
        makeNode('LinearClassifier', ['x'], ['output_label', 'probabilities'], {
          domain: ML_DOMAIN,
          attributes: {
            coefficients: attr.floats([-1, -2, 1, 2]),
            intercepts: attr.floats([-0.5, 0.5]),
            classlabels_strings: attr.strings(labels),
            post_transform: attr.string('LOGISTIC'),
          },
        }),
        makeNode('ZipMap', ['probabilities'], ['output_probability'], {
          domain: ML_DOMAIN,
          attributes: { classlabels_strings: attr.strings(labels) },
        }),
      ],
    });
    const { model: rewrittenModel, rewritten } = rewriteZipMap(model);
    assert.deepEqual(rewritten, [{ output: 'output_probability', classLabels: labels }]);
    const s = await load(rewrittenModel);
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 1, -1, -1), [2, 2]) });
    assert.deepEqual(out['output_label']?.data, ['fraud', 'legit']);
    // row [1,1]: scores [-0.5-3, 0.5+3]; row [-1,-1]: scores [-0.5+3, 0.5-3]
    const expected = [sigmoid(-3.5), sigmoid(3.5), sigmoid(2.5), sigmoid(-2.5)];
    assertClose(f32(out['output_probability'], 'p'), expected, TOL, 'p');
  });

  it('returns the same bytes and no rewrites when there is no ZipMap', () => {
    const mlp = buildMlp({ features: 8, hidden: 16, seed: 42 });
    const res = rewriteZipMap(mlp);
    assert.equal(res.model, mlp);
    assert.deepEqual(res.rewritten, []);
    assert.deepEqual(rewriteZipMap(buildLinearClassifier({ features: 4, classes: 3, seed: 7 })).rewritten, []);
  });

  function zipMapFeeding(extra: 'identity' | 'dangling'): Uint8Array {
    const zipOut = extra === 'dangling' ? 'zipped_unused' : 'zipped';
    return encodeModel({
      graphName: 'bad_zipmap',
      inputs: [tensorInfo('x', 'float32', ['N', 2])],
      outputs: [tensorInfo('label', 'int64', ['N']), ...(extra === 'identity' ? [valueInfo('out', seqMapType('int64'))] : [])],
      nodes: [
        makeNode('LinearClassifier', ['x'], ['label', 'probabilities'], {
          domain: ML_DOMAIN,
          attributes: {
            coefficients: attr.floats([1, 2, 3, 4]),
            intercepts: attr.floats([0, 0]),
            classlabels_ints: attr.ints([0, 1]),
            post_transform: attr.string('SOFTMAX'),
          },
        }),
        makeNode('ZipMap', ['probabilities'], [zipOut], {
          domain: ML_DOMAIN,
          name: 'TheZipMap',
          attributes: { classlabels_int64s: attr.ints([0, 1]) },
        }),
        ...(extra === 'identity' ? [makeNode('Identity', ['zipped'], ['out'], { name: 'Consumer' })] : []),
      ],
    });
  }

  it('throws when a ZipMap feeds another node', () => {
    assert.throws(() => rewriteZipMap(zipMapFeeding('identity')), /TheZipMap.*'zipped'.*feeds node\(s\) 'Consumer'/);
  });

  it('throws when a ZipMap output is not a graph output', () => {
    assert.throws(() => rewriteZipMap(zipMapFeeding('dangling')), /'zipped_unused' is not a graph output/);
  });

  it('throws a clear error on bytes that are not an ONNX model', () => {
    assert.throws(() => rewriteZipMap(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)), /cannot parse ONNX model/);
  });
});

// ---------------------------------------------------------------------------
// Per-column pipeline
// ---------------------------------------------------------------------------

describe('buildPerColumnModel', () => {
  it('takes amount/age float and country string inputs; scores rows; unknown country -> zero one-hot', async () => {
    const seed = 13;
    const s = await load(buildPerColumnModel({ seed }));
    assert.deepEqual(metadataOf(s.inputMetadata), [
      { name: 'amount', type: 'float32', shape: ['N', 1] },
      { name: 'age', type: 'float32', shape: ['N', 1] },
      { name: 'country', type: 'string', shape: ['N', 1] },
    ]);
    assert.deepEqual(metadataOf(s.outputMetadata), [
      { name: 'label', type: 'int64', shape: ['N'] },
      { name: 'probabilities', type: 'float32', shape: ['N', 2] },
    ]);

    const amount = [12.5, 980, 45, 3000, 0, 77.7, 150, 60];
    const age = [23, 67, 41, 19, 88, 35, 52, 30];
    const country = ['US', 'NG', 'ZZ', 'BR', 'DE', '', 'IN', 'us'];
    const n = amount.length;
    const out = await s.run({
      amount: new ort.Tensor('float32', Float32Array.from(amount), [n, 1]),
      age: new ort.Tensor('float32', Float32Array.from(age), [n, 1]),
      country: new ort.Tensor('string', country, [n, 1]),
    });
    assert.deepEqual(out['label']?.dims, [n]);
    assert.deepEqual(out['probabilities']?.dims, [n, 2]);

    // JS reference: [amount, age, onehot(country)] -> (x - offset) * scale -> LinearClassifier
    const p = perColumnParams({ seed });
    assert.deepEqual(p.countries, KNOWN_COUNTRIES);
    const width = 2 + p.countries.length;
    const scaled: number[] = [];
    for (let r = 0; r < n; r++) {
      const row = [Math.fround(amount[r] ?? 0), Math.fround(age[r] ?? 0), ...p.countries.map((c) => (c === country[r] ? 1 : 0))];
      for (let j = 0; j < width; j++) scaled.push(((row[j] ?? 0) - (p.scalerOffset[j] ?? 0)) * (p.scalerScale[j] ?? 1));
    }
    const ref = linearReference(p.classifier, scaled, width);
    assertClose(f32(out['probabilities'], 'probabilities'), ref.probabilities, TOL, 'probabilities');
    assert.deepEqual(Array.from(i64(out['label'], 'label'), Number), ref.labels);
  });

  it('an unknown country scores like a row with no country column set', async () => {
    const s = await load(buildPerColumnModel({ seed: 13 }));
    const run = async (country: string): Promise<Float32Array> => {
      const out = await s.run({
        amount: new ort.Tensor('float32', Float32Array.of(200), [1, 1]),
        age: new ort.Tensor('float32', Float32Array.of(40), [1, 1]),
        country: new ort.Tensor('string', [country], [1, 1]),
      });
      return f32(out['probabilities'], 'probabilities');
    };
    const unknownA = await run('XX');
    const unknownB = await run('Atlantis');
    assert.deepEqual(unknownA, unknownB);
    const known = await Promise.all(KNOWN_COUNTRIES.map(run));
    for (const k of known) assert.notDeepEqual(k, unknownA);
  });
});

// ---------------------------------------------------------------------------
// make-models
// ---------------------------------------------------------------------------

describe('writeModels', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-models-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes all five models, each loadable (ZipMap one after rewrite)', async () => {
    const written = await writeModels(path.join(dir, 'nested', 'out'));
    assert.deepEqual(Object.keys(written).sort(), ['fraud-mlp', 'linear-classifier', 'mlp-32', 'per-column', 'zipmap-classifier']);
    for (const [name, file] of Object.entries(written)) {
      assert.equal(path.basename(file), `${name}.onnx`);
      const bytes = new Uint8Array(await readFile(file));
      const { model } = rewriteZipMap(bytes);
      const s = await load(model);
      for (const m of s.outputMetadata) assert.ok(m.isTensor, `${name}: ${m.name} is a tensor after rewrite`);
    }
    const fraud = await load(new Uint8Array(await readFile(written['fraud-mlp'])));
    assert.deepEqual(metadataOf(fraud.inputMetadata), [{ name: 'features', type: 'float32', shape: ['N', 8] }]);
    const mlp32 = await load(new Uint8Array(await readFile(written['mlp-32'])));
    assert.deepEqual(metadataOf(mlp32.inputMetadata), [{ name: 'features', type: 'float32', shape: ['N', 32] }]);
  });

  it('is byte-for-byte reproducible', async () => {
    const a = await writeModels(path.join(dir, 'a'));
    const b = await writeModels(path.join(dir, 'b'));
    for (const name of Object.keys(a) as Array<keyof typeof a>) {
      assert.deepEqual(await readFile(a[name]), await readFile(b[name]), name);
    }
  });
});
