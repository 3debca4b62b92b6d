/**
 * Deterministic generators for the ONNX models nightshift uses in its demo,
 * benchmarks and tests. Each `build*` returns the serialized model; each
 * `*Weights` / `*Params` function returns the exact (float32-rounded)
 * parameters baked into it, so tests can recompute expected outputs in plain
 * JS instead of comparing the runtime against itself.
 *
 * The classifier graphs mirror what sklearn-onnx emits for LogisticRegression
 * and for a ColumnTransformer pipeline (LinearClassifier, ZipMap, OneHotEncoder,
 * Scaler in the ai.onnx.ml domain).
 */
import { attr, BATCH_DIM, encodeModel, floatTensor, int64Tensor, makeNode, ML_DOMAIN, seqMapType, tensorInfo, valueInfo } from './onnx-builder.js';

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/** mulberry32: tiny, fast, deterministic 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale), rounded to float32 (what the model stores). */
function uniform(rand: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

function assertPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

// ---------------------------------------------------------------------------
// MLP
// ---------------------------------------------------------------------------

export interface MlpOptions {
  features: number;
  hidden: number;
  seed: number;
}

export interface MlpWeights {
  /** [features, hidden], row-major. */
  w1: Float32Array;
  /** [hidden] */
  b1: Float32Array;
  /** [hidden, 1] */
  w2: Float32Array;
  /** [1] */
  b2: Float32Array;
}

export function mlpWeights({ features, hidden, seed }: MlpOptions): MlpWeights {
  assertPositiveInt('features', features);
  assertPositiveInt('hidden', hidden);
  const rand = mulberry32(seed);
  // Glorot-uniform for the hidden layer; the output layer is scaled up a bit
  // so that for N(0,1) inputs the logits have std ~1.5 and scores spread over
  // (0,1) instead of clustering at 0.5 (and without saturating at 0/1).
  const w1 = uniform(rand, features * hidden, Math.sqrt(6 / (features + hidden)));
  const b1 = uniform(rand, hidden, 0.1);
  const w2 = uniform(rand, hidden, 2.5 * Math.sqrt(6 / (hidden + 1)));
  const b2 = Float32Array.of(0);
  return { w1, b1, w2, b2 };
}

/**
 * features float32 [N, F] -> MatMul+Add -> Relu -> MatMul+Add -> Sigmoid -> score float32 [N, 1].
 */
export function buildMlp(opts: MlpOptions): Uint8Array {
  const { features, hidden } = opts;
  const w = mlpWeights(opts);
  return encodeModel({
    graphName: `mlp_${features}_${hidden}_1`,
    docString: `Deterministic MLP ${features}->${hidden}->1 (seed ${opts.seed}).`,
    inputs: [tensorInfo('features', 'float32', [BATCH_DIM, features])],
    outputs: [tensorInfo('score', 'float32', [BATCH_DIM, 1])],
    initializers: [
      floatTensor('w1', [features, hidden], w.w1),
      floatTensor('b1', [hidden], w.b1),
      floatTensor('w2', [hidden, 1], w.w2),
      floatTensor('b2', [1], w.b2),
    ],
    nodes: [
      makeNode('MatMul', ['features', 'w1'], ['h_mm']),
      makeNode('Add', ['h_mm', 'b1'], ['h_pre']),
      makeNode('Relu', ['h_pre'], ['h']),
      makeNode('MatMul', ['h', 'w2'], ['o_mm']),
      makeNode('Add', ['o_mm', 'b2'], ['logit']),
      makeNode('Sigmoid', ['logit'], ['score']),
    ],
  });
}

// ---------------------------------------------------------------------------
// LinearClassifier (sklearn LogisticRegression)
// ---------------------------------------------------------------------------

export interface ClassifierOptions {
  features: number;
  classes: number;
  seed: number;
}

export type PostTransform = 'SOFTMAX' | 'LOGISTIC';

export interface LinearClassifierWeights {
  /** [classes, features], row-major: exactly the `coefficients` attribute. */
  coefficients: Float32Array;
  /** [classes]: exactly the `intercepts` attribute. */
  intercepts: Float32Array;
  postTransform: PostTransform;
  classLabels: number[];
}

/**
 * Parameters laid out the way sklearn-onnx writes LogisticRegression:
 * binary -> rows [-w, w], intercepts [-b, b], LOGISTIC (so the two sigmoids
 * sum to 1); multiclass (multinomial) -> one row per class, SOFTMAX.
 */
export function linearClassifierWeights({ features, classes, seed }: ClassifierOptions): LinearClassifierWeights {
  assertPositiveInt('features', features);
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`classes must be an integer >= 2, got ${classes}`);
  const rand = mulberry32(seed);
  const classLabels = Array.from({ length: classes }, (_, i) => i);
  if (classes === 2) {
    const w = uniform(rand, features, 1);
    const b = uniform(rand, 1, 0.5)[0] ?? 0;
    const coefficients = new Float32Array(2 * features);
    for (let j = 0; j < features; j++) {
      coefficients[j] = -(w[j] ?? 0);
      coefficients[features + j] = w[j] ?? 0;
    }
    return { coefficients, intercepts: Float32Array.of(-b, b), postTransform: 'LOGISTIC', classLabels };
  }
  return {
    coefficients: uniform(rand, classes * features, 1),
    intercepts: uniform(rand, classes, 0.5),
    postTransform: 'SOFTMAX',
    classLabels,
  };
}

function linearClassifierNode(input: string, outputs: readonly [label: string, probabilities: string], w: LinearClassifierWeights) {
  return makeNode('LinearClassifier', [input], outputs, {
    domain: ML_DOMAIN,
    name: 'LinearClassifier',
    attributes: {
      coefficients: attr.floats(w.coefficients),
      intercepts: attr.floats(w.intercepts),
      classlabels_ints: attr.ints(w.classLabels),
      // sklearn-onnx: multi_class=1 only for multinomial (>2 classes).
      multi_class: attr.int(w.classLabels.length > 2 ? 1 : 0),
      post_transform: attr.string(w.postTransform),
    },
  });
}

/**
 * float_input float32 [N, F] -> LinearClassifier -> label int64 [N], probabilities float32 [N, C].
 */
export function buildLinearClassifier(opts: ClassifierOptions): Uint8Array {
  const w = linearClassifierWeights(opts);
  return encodeModel({
    graphName: 'linear_classifier',
    producerName: 'nightshift-model-builder',
    inputs: [tensorInfo('float_input', 'float32', [BATCH_DIM, opts.features])],
    outputs: [tensorInfo('label', 'int64', [BATCH_DIM]), tensorInfo('probabilities', 'float32', [BATCH_DIM, opts.classes])],
    nodes: [linearClassifierNode('float_input', ['label', 'probabilities'], w)],
  });
}

/**
 * What sklearn-onnx emits for LogisticRegression with default options
 * (zipmap=True): LinearClassifier -> label -> Cast -> output_label int64 [N],
 * probabilities -> ZipMap -> output_probability sequence(map(int64, float)).
 * Same weights as buildLinearClassifier with the same options.
 */
export function buildZipMapClassifier(opts: ClassifierOptions): Uint8Array {
  const w = linearClassifierWeights(opts);
  const multiclass = opts.classes > 2;
  return encodeModel({
    graphName: 'ONNX(LogisticRegression)',
    producerName: 'skl2onnx',
    producerVersion: '1.17.0',
    inputs: [tensorInfo('float_input', 'float32', [BATCH_DIM, opts.features])],
    outputs: [tensorInfo('output_label', 'int64', [BATCH_DIM]), valueInfo('output_probability', seqMapType('int64'))],
    nodes: [
      ...(multiclass
        ? [
            // sklearn-onnx re-normalizes multinomial probabilities (L1) so rows sum to 1.
            linearClassifierNode('float_input', ['label', 'probability_tensor'], w),
            makeNode('Normalizer', ['probability_tensor'], ['probabilities'], {
              domain: ML_DOMAIN,
              name: 'Normalizer',
              attributes: { norm: attr.string('L1') },
            }),
          ]
        : [linearClassifierNode('float_input', ['label', 'probabilities'], w)]),
      makeNode('Cast', ['label'], ['output_label'], { name: 'Cast', attributes: { to: attr.int(7) } }),
      makeNode('ZipMap', ['probabilities'], ['output_probability'], {
        domain: ML_DOMAIN,
        name: 'ZipMap',
        attributes: { classlabels_int64s: attr.ints(w.classLabels) },
      }),
    ],
  });
}

// ---------------------------------------------------------------------------
// Per-column pipeline (ColumnTransformer + StandardScaler + LogisticRegression)
// ---------------------------------------------------------------------------

/** Countries the OneHotEncoder knows; anything else encodes as all zeros. */
export const KNOWN_COUNTRIES: readonly string[] = ['US', 'GB', 'DE', 'FR', 'NG', 'BR', 'IN'];

export interface PerColumnOptions {
  seed: number;
}

export interface PerColumnParams {
  countries: readonly string[];
  /** Scaler `offset` for the concatenated row [amount, age, onehot(country)...]. */
  scalerOffset: Float32Array;
  /** Scaler `scale` for the same columns: y = (x - offset) * scale. */
  scalerScale: Float32Array;
  classifier: LinearClassifierWeights;
}

export function perColumnParams({ seed }: PerColumnOptions): PerColumnParams {
  const countries = KNOWN_COUNTRIES;
  const width = 2 + countries.length;
  const scalerOffset = new Float32Array(width);
  const scalerScale = new Float32Array(width).fill(1);
  // StandardScaler stats for amount and age; one-hot columns pass through.
  scalerOffset[0] = 120;
  scalerScale[0] = 1 / 250;
  scalerOffset[1] = 40;
  scalerScale[1] = 1 / 14;
  const classifier = linearClassifierWeights({ features: width, classes: 2, seed });
  return { countries, scalerOffset, scalerScale, classifier };
}

/**
 * sklearn-onnx shaped pipeline with one input per column:
 *   amount float32 [N,1], age float32 [N,1], country string [N,1]
 *   country -> OneHotEncoder(zeros=1, unknown -> all zeros) [N,1,K] -> Reshape [N,K]
 *   Concat(amount, age, onehot) -> Scaler -> LinearClassifier(2 classes)
 *   -> label int64 [N], probabilities float32 [N,2]
 */
export function buildPerColumnModel(opts: PerColumnOptions): Uint8Array {
  const p = perColumnParams(opts);
  const k = p.countries.length;
  const width = 2 + k;
  return encodeModel({
    graphName: 'pipeline_per_column',
    producerName: 'skl2onnx',
    producerVersion: '1.17.0',
    inputs: [tensorInfo('amount', 'float32', [BATCH_DIM, 1]), tensorInfo('age', 'float32', [BATCH_DIM, 1]), tensorInfo('country', 'string', [BATCH_DIM, 1])],
    outputs: [tensorInfo('label', 'int64', [BATCH_DIM]), tensorInfo('probabilities', 'float32', [BATCH_DIM, 2])],
    initializers: [int64Tensor('onehot_shape', [2], [-1, k])],
    valueInfos: [tensorInfo('features', 'float32', [BATCH_DIM, width])],
    nodes: [
      makeNode('OneHotEncoder', ['country'], ['country_onehot3d'], {
        domain: ML_DOMAIN,
        name: 'OneHotEncoder',
        attributes: { cats_strings: attr.strings(p.countries), zeros: attr.int(1) },
      }),
      makeNode('Reshape', ['country_onehot3d', 'onehot_shape'], ['country_onehot'], { name: 'Reshape' }),
      makeNode('Concat', ['amount', 'age', 'country_onehot'], ['features'], {
        name: 'Concat',
        attributes: { axis: attr.int(1) },
      }),
      makeNode('Scaler', ['features'], ['scaled'], {
        domain: ML_DOMAIN,
        name: 'Scaler',
        attributes: { offset: attr.floats(p.scalerOffset), scale: attr.floats(p.scalerScale) },
      }),
      linearClassifierNode('scaled', ['label', 'probabilities'], p.classifier),
    ],
  });
}
