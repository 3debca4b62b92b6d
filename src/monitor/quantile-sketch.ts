/**
 * Quantiles with bounded memory: DDSketch (Masson, Rim & Lee, VLDB 2019) with its logarithmic
 * mapping and collapsing-lowest dense stores, the variant @datadog/sketches-js calls
 * LogCollapsingLowestDenseDDSketch.
 *
 * Error bound: for every quantile q, the value returned is within RELATIVE_ACCURACY (1 %) of
 * the exact q-quantile of the values the sketch was given: |x̂_q − x_q| ≤ 0.01·|x_q|. Memory is
 * at most BIN_LIMIT buckets per sign; a column whose magnitudes span more than 2048 buckets (a
 * factor of ~5·10^17) has its smallest magnitudes collapsed into one bucket, where the bound no
 * longer holds. Values with |x| ≤ 2^-1023·γ count as zero.
 *
 * Written here rather than used from the library because profiling feeds it on the hot path: the
 * library's accept() cost ~0.2 µs a value (a key() call through the mapping class, bins in a
 * growable Array), this one a few ns. Keys, bucket values, collapsing and quantile ranks are the
 * library's, computed by the same expressions, so sketches (and baselines) written before stay
 * comparable; test/monitor-metrics.test.ts checks both against the library on the same values.
 *
 * Sketches cross process and thread boundaries as SketchJson (plain, deterministic: buckets in
 * key order) and are merged from that form.
 */

export const RELATIVE_ACCURACY = 0.01;
export const BIN_LIMIT = 2048;

// The library's LogarithmicMapping, term by term: key(v) = ⌈log2(v)·MULTIPLIER⌉.
const GAMMA_MANTISSA = (2 * RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const GAMMA = 1 + GAMMA_MANTISSA;
const MULTIPLIER = (1 / Math.log1p(GAMMA_MANTISSA)) * Math.log(2);
const MIN_POSITIVE = Math.pow(2, -1023) * GAMMA;

/** The bucket of a positive magnitude above MIN_POSITIVE: ⌈log2(m)·MULTIPLIER⌉, mostly from a table. */
export function bucketKey(magnitude: number): number {
  BITS[0] = magnitude;
  const high = WORDS[HIGH] as number;
  const table = KEY_TABLES[high >>> 20] ?? keyTable(high >>> 20);
  const key = table[(high >>> (20 - SLICE_BITS)) & SLICE_MASK] as number;
  // `| 0`: an int32 (keys are within ±40,000), and 0 rather than the -0 ceil gives just below 1.
  return key !== VARIES ? key : Math.ceil(Math.log2(magnitude) * MULTIPLIER) | 0;
}

// The fast path of bucketKey (a log2 costs ~20 ns; profiling sketches ~2 values a row): the
// key is constant over most of each 1/1024 slice of an octave, so a table per binary exponent,
// built the first time a value with that exponent comes, holds it — or VARIES for the ~3 % of
// slices a key boundary crosses (or comes within 1e-7 of: log2 rounds), where it is computed.
const SLICE_BITS = 10;
const SLICE_MASK = (1 << SLICE_BITS) - 1;
const VARIES = 0x7fffffff;
const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
/** Which word of a float64 holds the sign, exponent and top of the mantissa. */
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;
const KEY_TABLES: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(2048).fill(undefined);

function keyTable(biasedExponent: number): Int32Array {
  const table = new Int32Array(1 << SLICE_BITS).fill(VARIES);
  // Subnormals, infinities and NaN stay on the slow path (they do not come here in practice).
  if (biasedExponent > 0 && biasedExponent < 2047) {
    const scale = Math.pow(2, biasedExponent - 1023);
    const margin = 1e-7;
    for (let c = 0; c < table.length; c++) {
      const lo = Math.log2(scale * (1 + c / table.length)) * MULTIPLIER;
      const hi = Math.log2(scale * (1 + (c + 1) / table.length)) * MULTIPLIER;
      const key = Math.ceil(lo - margin);
      if (key === Math.ceil(hi + margin)) table[c] = key;
    }
  }
  KEY_TABLES[biasedExponent] = table;
  return table;
}

/** The value a bucket stands for (within RELATIVE_ACCURACY of every value in it). */
export function bucketValue(key: number): number {
  return Math.pow(2, key / MULTIPLIER) * (2 / (1 + GAMMA));
}

/**
 * Counts of consecutive bucket keys, keeping at most BIN_LIMIT: a key below maxKey − BIN_LIMIT + 1
 * is counted at that lowest kept key (whatever the order of adds, as the library's store).
 */
class BucketStore {
  count = 0;
  minKey = 0;
  maxKey = -1;
  /** bins[i] counts key offset + i. */
  private bins = new Float64Array(0);
  private offset = 0;

  add(key: number, weight: number): void {
    const k = key >= this.minKey && key <= this.maxKey ? key : this.extend(key);
    (this.bins[k - this.offset] as number) += weight;
    this.count += weight;
  }

  /** Widens [minKey, maxKey] to take `key`, collapsing the lowest keys; returns where it counts. */
  private extend(key: number): number {
    let lo = this.count === 0 ? key : Math.min(key, this.minKey);
    const hi = this.count === 0 ? key : Math.max(key, this.maxKey);
    if (hi - lo + 1 > BIN_LIMIT) lo = hi - BIN_LIMIT + 1;
    if (lo < this.offset || hi >= this.offset + this.bins.length) this.realloc(lo, hi);
    if (this.count > 0 && lo > this.minKey) {
      let collapsed = 0;
      for (let k = this.minKey; k < lo; k++) {
        collapsed += this.bins[k - this.offset] as number;
        this.bins[k - this.offset] = 0;
      }
      (this.bins[lo - this.offset] as number) += collapsed;
    }
    this.minKey = lo;
    this.maxKey = hi;
    return Math.max(key, lo);
  }

  /** Room for [lo, hi] plus slack on both sides (values drift in either direction), growing geometrically. */
  private realloc(lo: number, hi: number): void {
    const from = this.count === 0 ? lo : Math.min(lo, this.minKey);
    const slack = Math.max(64, (hi - from) >> 1);
    const start = from - slack;
    const next = new Float64Array(hi - start + 1 + slack);
    if (this.count > 0) next.set(this.bins.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1), this.minKey - start);
    this.bins = next;
    this.offset = start;
  }

  /** Counts from minKey to maxKey. */
  run(): BucketRun {
    if (this.count === 0) return { start: 0, counts: [] };
    return { start: this.minKey, counts: Array.from(this.bins.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1)) };
  }

  /** The first key whose running count passes `rank` (lower) or reaches rank + 1 (upper), as the library. */
  keyAtRank(rank: number, lower: boolean): number {
    let running = 0;
    for (let k = this.minKey; k <= this.maxKey; k++) {
      running += this.bins[k - this.offset] as number;
      if (lower ? running > rank : running >= rank + 1) return k;
    }
    return this.maxKey;
  }
}

export class QuantileSketch {
  count = 0;
  zeroCount = 0;
  readonly positive = new BucketStore();
  readonly negative = new BucketStore();

  accept(value: number, weight = 1): void {
    if (value > MIN_POSITIVE) this.positive.add(bucketKey(value), weight);
    else if (value < -MIN_POSITIVE) this.negative.add(bucketKey(-value), weight);
    else this.zeroCount += weight;
    this.count += weight;
  }

  /** The q-quantile (0 ≤ q ≤ 1) within RELATIVE_ACCURACY; NaN when empty. */
  quantile(q: number): number {
    if (q < 0 || q > 1 || this.count === 0) return Number.NaN;
    const rank = q * (this.count - 1);
    const neg = this.negative.count;
    if (rank < neg) return -bucketValue(this.negative.keyAtRank(neg - rank - 1, false));
    if (rank < this.zeroCount + neg) return 0;
    return bucketValue(this.positive.keyAtRank(rank - this.zeroCount - neg, true));
  }
}

/** Counts of consecutive bucket keys from `start`; zeros inside the range are kept. */
export interface BucketRun {
  start: number;
  counts: number[];
}

export interface SketchJson {
  relativeAccuracy: number;
  zeros: number;
  positive: BucketRun;
  negative: BucketRun;
}

/** One bucket of a sketch: its representative value and how many values fell in it. */
export interface Bucket {
  value: number;
  weight: number;
}

export function newSketch(): QuantileSketch {
  return new QuantileSketch();
}

function addRun(store: BucketStore, run: BucketRun): void {
  run.counts.forEach((c, i) => {
    if (c > 0) store.add(run.start + i, c);
  });
}

export function sketchToJson(s: QuantileSketch): SketchJson {
  return { relativeAccuracy: RELATIVE_ACCURACY, zeros: s.zeroCount, positive: s.positive.run(), negative: s.negative.run() };
}

/** Adds the buckets of `from` to `into` (counts add exactly: merging loses nothing). */
export function mergeSketchJson(into: QuantileSketch, from: SketchJson): void {
  if (from.relativeAccuracy !== RELATIVE_ACCURACY) {
    throw new Error(`cannot merge a quantile sketch of relative accuracy ${from.relativeAccuracy} into one of ${RELATIVE_ACCURACY}`);
  }
  addRun(into.positive, from.positive);
  addRun(into.negative, from.negative);
  into.zeroCount += from.zeros;
  into.count = into.positive.count + into.negative.count + into.zeroCount;
}

export function sketchFromJson(j: SketchJson): QuantileSketch {
  const s = newSketch();
  mergeSketchJson(s, j);
  return s;
}

export function sketchCount(j: SketchJson): number {
  return j.zeros + sum(j.positive.counts) + sum(j.negative.counts);
}

/** The q-quantile (0 ≤ q ≤ 1) within RELATIVE_ACCURACY, or null for an empty sketch. */
export function sketchQuantile(s: QuantileSketch, q: number): number | null {
  if (s.count === 0) return null;
  return s.quantile(q);
}

/**
 * The sketch as a sorted list of buckets, each at its representative value (the value the sketch
 * returns for quantiles in it). Two sketches of the same accuracy share bucket boundaries, so
 * their buckets compare exactly: this is what drift metrics are computed on.
 */
export function sketchBuckets(j: SketchJson): Bucket[] {
  const out: Bucket[] = [];
  const neg = j.negative;
  for (let i = neg.counts.length - 1; i >= 0; i--) {
    const c = neg.counts[i] as number;
    if (c > 0) out.push({ value: -bucketValue(neg.start + i), weight: c });
  }
  if (j.zeros > 0) out.push({ value: 0, weight: j.zeros });
  j.positive.counts.forEach((c, i) => {
    if (c > 0) out.push({ value: bucketValue(j.positive.start + i), weight: c });
  });
  return out;
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}
