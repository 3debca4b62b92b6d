/**
 * Quantiles with bounded memory: DDSketch (@datadog/sketches-js), the relative-error sketch of
 * Masson, Rim & Lee (VLDB 2019).
 *
 * Error bound: for every quantile q, the value returned is within RELATIVE_ACCURACY (1 %) of
 * the exact q-quantile of the values the sketch was given: |x̂_q − x_q| ≤ 0.01·|x_q|. Memory is
 * at most BIN_LIMIT buckets per sign; a column whose magnitudes span more than 2048 buckets (a
 * factor of ~5·10^17) has its smallest magnitudes collapsed into one bucket, where the bound no
 * longer holds. Values with |x| ≤ 1e-308 count as zero.
 *
 * Sketches cross process and thread boundaries as SketchJson (plain, deterministic: buckets in
 * key order), and are merged from that form. The library's own merge() skips the negative store
 * (2.1.1), and its protobuf form loses nothing we need but adds a dependency; so both are done
 * here over the library's stores.
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

export const RELATIVE_ACCURACY = 0.01;
export const BIN_LIMIT = 2048;

export type QuantileSketch = LogCollapsingLowestDenseDDSketch;

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
  return new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: RELATIVE_ACCURACY, binLimit: BIN_LIMIT });
}

type Store = QuantileSketch['store'];

function storeRun(store: Store): BucketRun {
  if (store.count === 0) return { start: 0, counts: [] };
  const counts: number[] = [];
  for (let k = store.minKey; k <= store.maxKey; k++) counts.push(store.bins[k - store.offset] ?? 0);
  return { start: store.minKey, counts };
}

function addRun(store: Store, run: BucketRun): void {
  run.counts.forEach((c, i) => {
    if (c > 0) store.add(run.start + i, c);
  });
}

export function sketchToJson(s: QuantileSketch): SketchJson {
  return { relativeAccuracy: RELATIVE_ACCURACY, zeros: s.zeroCount, positive: storeRun(s.store), negative: storeRun(s.negativeStore) };
}

/** Adds the buckets of `from` to `into` (counts add exactly: merging loses nothing). */
export function mergeSketchJson(into: QuantileSketch, from: SketchJson): void {
  if (from.relativeAccuracy !== RELATIVE_ACCURACY) {
    throw new Error(`cannot merge a quantile sketch of relative accuracy ${from.relativeAccuracy} into one of ${RELATIVE_ACCURACY}`);
  }
  addRun(into.store, from.positive);
  addRun(into.negativeStore, from.negative);
  into.zeroCount += from.zeros;
  into.count = into.store.count + into.negativeStore.count + into.zeroCount;
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
  return s.getValueAtQuantile(q);
}

/**
 * The sketch as a sorted list of buckets, each at its representative value (the value the sketch
 * returns for quantiles in it). Two sketches of the same accuracy share bucket boundaries, so
 * their buckets compare exactly: this is what drift metrics are computed on.
 */
export function sketchBuckets(j: SketchJson): Bucket[] {
  const s = sketchFromJson(j);
  const out: Bucket[] = [];
  const neg = j.negative;
  for (let i = neg.counts.length - 1; i >= 0; i--) {
    const c = neg.counts[i] as number;
    if (c > 0) out.push({ value: -s.mapping.value(neg.start + i), weight: c });
  }
  if (j.zeros > 0) out.push({ value: 0, weight: j.zeros });
  j.positive.counts.forEach((c, i) => {
    if (c > 0) out.push({ value: s.mapping.value(j.positive.start + i), weight: c });
  });
  return out;
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}
