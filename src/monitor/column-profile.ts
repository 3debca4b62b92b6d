/**
 * The profile of one column, as a mutable collector (hot loops over a batch's typed arrays) and
 * as plain JSON (what shards send to finalize, what baselines store). Both kinds merge exactly
 * except where their sketch says otherwise (quantile-sketch.ts, frequent-items.ts,
 * distinct-count.ts).
 */
import type { RejectReason } from '../core/types.js';
import { DistinctCount, type DistinctJson } from './distinct-count.js';
import { FrequentItems, type FrequentItemsJson } from './frequent-items.js';
import { emptyMoments, mergeMoments, momentsFromShiftedSums, type Moments } from './moments.js';
import { mergeSketchJson, newSketch, sketchToJson, type QuantileSketch, type SketchJson } from './quantile-sketch.js';

export type Rejections = Partial<Record<RejectReason, number>>;

interface ColumnJsonBase {
  /** Values profiled (present, finite for numeric). */
  count: number;
  /** Cells fed to the model as missing (NaN) or empty text: scored, but without a value. */
  missing: number;
  /** Rows rejected because of this column, by reason (not scored). */
  rejected: Rejections;
}

export interface NumericColumnJson extends ColumnJsonBase {
  kind: 'numeric';
  /** ±Infinity from a model output (inputs reject them). */
  nonFinite: number;
  min: number | null;
  max: number | null;
  moments: Moments;
  sketch: SketchJson;
}

export interface CategoricalColumnJson extends ColumnJsonBase {
  kind: 'categorical';
  top: FrequentItemsJson;
  distinct: DistinctJson;
}

export type ColumnJson = NumericColumnJson | CategoricalColumnJson;

export type NumericArray = Float32Array | Float64Array | BigInt64Array | Int32Array;
type FloatArray = Exclude<NumericArray, BigInt64Array>;

/**
 * Which rows of a batch go into the quantile sketch, and with what weight. Counts, min, max and
 * moments always see every row; the sketch (the costly part: a bucket key a value) may see a
 * sample: `rows`, ascending.
 */
export interface SketchRows {
  readonly rows: Int32Array | undefined;
  readonly weight: number;
}

/**
 * Rows of a tile: 128 rows × 32 float32 columns = 16 KB, which stays in L1 while each column's
 * loops (moments, then the sketch) run over it. Column by column over a whole batch (1 MB at
 * 8,192 rows × 32) instead read every cache line of it 16 times from L3, the cache the parser
 * and the model also need.
 */
const TILE_ROWS = 128;

/**
 * Profiles the columns of one row-major array (a model input, or a score output: rows × width
 * values, column j of row r at r·width + j) into `cols` (width = cols.length; an undefined
 * collector skips its column), tile by tile.
 */
export function addRowMajor(cols: readonly (NumericColumn | undefined)[], values: NumericArray, rows: number, sample: SketchRows): void {
  const width = cols.length;
  const v = values instanceof BigInt64Array ? Float64Array.from(values.subarray(0, rows * width), Number) : values;
  for (let j = 0; j < width; j++) cols[j]?.beginBatch(v, j, width, rows);
  const picked = sample.rows;
  for (let r0 = 0; r0 < rows; r0 += TILE_ROWS) {
    const r1 = Math.min(rows, r0 + TILE_ROWS);
    for (let j = 0; j < width; j++) {
      const c = cols[j];
      if (c === undefined) continue;
      c.addTile(v, r0 * width + j, r1 * width + j, width);
      if (picked === undefined) c.sketchTile(v, r0 * width + j, r1 * width + j, width);
    }
  }
  // A sample (one row in 32: ~4 a tile) is sketched column by column over the whole batch, not
  // ~4 values a column a tile: one call a column instead of one a tile, and each column's buckets
  // are touched together (measured: 1M rows × 33 columns as run, 72.7-77.0 -> 69.1-76.2 ms CPU,
  // best of 6, 3 alternated pairs). The sampled rows' values are few (1/32 of the batch) and stay
  // cached across columns. Bucket counts add up the same in any order, so the sketch is the same.
  if (picked !== undefined) for (let j = 0; j < width; j++) cols[j]?.sketchRows(v, j, width, picked, sample.weight);
  for (let j = 0; j < width; j++) cols[j]?.endBatch();
}

export class NumericColumn {
  count = 0;
  missing = 0;
  nonFinite = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly moments: Moments = emptyMoments();
  readonly sketch: QuantileSketch = newSketch();
  rejected: Rejections = {};
  // The batch in progress: sums around `shift` (its first finite value), folded into moments
  // by endBatch (momentsFromShiftedSums explains why shifted).
  private batchCount = 0;
  private shift = 0;
  private sum = 0;
  private sumSq = 0;

  beginBatch(values: FloatArray, offset: number, stride: number, rows: number): void {
    const end = offset + rows * stride;
    let k = offset;
    while (k < end && (values[k] as number) - (values[k] as number) !== 0) k += stride;
    this.shift = k < end ? (values[k] as number) : 0;
    this.batchCount = 0;
    this.sum = 0;
    this.sumSq = 0;
  }

  /** Values from, from + stride, … below end (end − from a multiple of stride): counts, min, max and shifted sums. */
  addTile(values: FloatArray, from: number, end: number, stride: number): void {
    if (!this.addFiniteTile(values, from, end, stride)) this.addAnyTile(values, from, end, stride);
  }

  /**
   * addTile for a tile of finite values, the common case, without checking each value: a NaN
   * or ±Infinity makes the sums non-finite, and then this adds nothing and returns false (so do
   * sums that overflow, which only float64 values can: addAnyTile then gives the same result it
   * always did). The same additions in the same order as addAnyTile's, so the same sums.
   */
  private addFiniteTile(values: FloatArray, from: number, end: number, stride: number): boolean {
    const shift = this.shift;
    let min = this.min;
    let max = this.max;
    let sumA = 0;
    let sqA = 0;
    let sumB = 0;
    let sqB = 0;
    let k = from;
    for (const last = end - stride; k < last; k += 2 * stride) {
      const a = values[k] as number;
      const b = values[k + stride] as number;
      const da = a - shift;
      const db = b - shift;
      sumA += da;
      sqA += da * da;
      sumB += db;
      sqB += db * db;
      if (a < min) min = a;
      if (a > max) max = a;
      if (b < min) min = b;
      if (b > max) max = b;
    }
    if (k < end) {
      const d = (values[k] as number) - shift;
      sumA += d;
      sqA += d * d;
    }
    const total = sumA + sqA + sumB + sqB;
    if (total - total !== 0) return false;
    if (k < end) {
      const v = values[k] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.batchCount += (end - from) / stride;
    this.min = min;
    this.max = max;
    this.sum += sumA + sumB;
    this.sumSq += sqA + sqB;
    return true;
  }

  private addAnyTile(values: FloatArray, from: number, end: number, stride: number): void {
    const shift = this.shift;
    let min = this.min;
    let max = this.max;
    // Two rows an iteration into two pairs of sums, so one row's additions need not wait for
    // the other's; the first NaN or ±Infinity sends the rest of the tile to the loop after.
    let sumA = 0;
    let sqA = 0;
    let sumB = 0;
    let sqB = 0;
    let k = from;
    for (const last = end - stride; k < last; k += 2 * stride) {
      const a = values[k] as number;
      const b = values[k + stride] as number;
      if (a - a !== 0 || b - b !== 0) break;
      const da = a - shift;
      const db = b - shift;
      sumA += da;
      sqA += da * da;
      sumB += db;
      sqB += db * db;
      if (a < min) min = a;
      if (a > max) max = a;
      if (b < min) min = b;
      if (b > max) max = b;
    }
    let missing = 0;
    let nonFinite = 0;
    for (; k < end; k += stride) {
      const v = values[k] as number;
      if (v - v !== 0) {
        if (v !== v) missing++;
        else nonFinite++;
        continue;
      }
      const d = v - shift;
      sumA += d;
      sqA += d * d;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.batchCount += (end - from) / stride - missing - nonFinite;
    this.missing += missing;
    this.nonFinite += nonFinite;
    this.min = min;
    this.max = max;
    this.sum += sumA + sumB;
    this.sumSq += sqA + sqB;
  }

  /** Every finite value from, from + stride, … below end into the sketch. */
  sketchTile(values: FloatArray, from: number, end: number, stride: number): void {
    const sk = this.sketch;
    for (let k = from; k < end; k += stride) {
      const v = values[k] as number;
      if (v - v === 0) sk.accept(v);
    }
  }

  /** The finite values of the sampled `rows` into the sketch, each standing for `weight` rows. */
  sketchRows(values: FloatArray, offset: number, stride: number, rows: Int32Array, weight: number): void {
    const sk = this.sketch;
    for (let i = 0; i < rows.length; i++) {
      const v = values[offset + (rows[i] as number) * stride] as number;
      if (v - v === 0) sk.accept(v, weight);
    }
  }

  endBatch(): void {
    this.count += this.batchCount;
    mergeMoments(this.moments, momentsFromShiftedSums(this.batchCount, this.shift, this.sum, this.sumSq));
  }

  merge(j: NumericColumnJson): void {
    this.count += j.count;
    this.missing += j.missing;
    this.nonFinite += j.nonFinite;
    if (j.min !== null && j.min < this.min) this.min = j.min;
    if (j.max !== null && j.max > this.max) this.max = j.max;
    mergeMoments(this.moments, j.moments);
    mergeSketchJson(this.sketch, j.sketch);
    this.rejected = addRejections(this.rejected, j.rejected);
  }

  toJson(): NumericColumnJson {
    const empty = this.count === 0;
    return {
      kind: 'numeric',
      count: this.count,
      missing: this.missing,
      rejected: sortedRejections(this.rejected),
      nonFinite: this.nonFinite,
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      moments: { ...this.moments },
      sketch: sketchToJson(this.sketch),
    };
  }
}

export class CategoricalColumn {
  count = 0;
  missing = 0;
  readonly top = new FrequentItems();
  readonly distinct = new DistinctCount();
  rejected: Rejections = {};

  add(values: readonly (string | boolean)[], offset: number, stride: number, rows: number): void {
    const end = offset + rows * stride;
    for (let k = offset; k < end; k += stride) {
      const raw = values[k];
      const v = typeof raw === 'string' ? raw : String(raw);
      if (v === '') {
        this.missing++;
        continue;
      }
      this.count++;
      this.top.add(v);
      this.distinct.add(v);
    }
  }

  merge(j: CategoricalColumnJson): void {
    this.count += j.count;
    this.missing += j.missing;
    this.top.merge(j.top);
    this.distinct.merge(j.distinct);
    this.rejected = addRejections(this.rejected, j.rejected);
  }

  toJson(): CategoricalColumnJson {
    return {
      kind: 'categorical',
      count: this.count,
      missing: this.missing,
      rejected: sortedRejections(this.rejected),
      top: this.top.toJson(),
      distinct: this.distinct.toJson(),
    };
  }
}

export type ColumnCollector = NumericColumn | CategoricalColumn;

export function collectorFor(j: ColumnJson): ColumnCollector {
  return j.kind === 'numeric' ? new NumericColumn() : new CategoricalColumn();
}

export function mergeColumn(c: ColumnCollector, j: ColumnJson): void {
  if (c instanceof NumericColumn && j.kind === 'numeric') c.merge(j);
  else if (c instanceof CategoricalColumn && j.kind === 'categorical') c.merge(j);
  else throw new Error(`cannot merge a ${j.kind} column profile into a ${c instanceof NumericColumn ? 'numeric' : 'categorical'} one`);
}

function addRejections(a: Rejections, b: Rejections): Rejections {
  const out: Rejections = { ...a };
  for (const [r, n] of Object.entries(b) as [RejectReason, number][]) out[r] = (out[r] ?? 0) + n;
  return out;
}

/** Keys in a fixed order, so equal profiles serialise to equal bytes. */
export function sortedRejections(r: Rejections): Rejections {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}
