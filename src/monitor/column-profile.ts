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

/**
 * Which rows of a batch go into the quantile sketch, and with what weight. Counts, min, max and
 * moments always see every row; the sketch (the costly part, ~0.2 µs a value) may see a sample.
 */
export interface SketchRows {
  readonly rows: Int32Array | undefined;
  readonly weight: number;
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

  /** Values offset, offset + stride, … of `values` (one column of a row-major batch). */
  add(values: NumericArray, offset: number, stride: number, rows: number, sample: SketchRows): void {
    if (values instanceof BigInt64Array) {
      const conv = new Float64Array(rows);
      for (let r = 0; r < rows; r++) conv[r] = Number(values[offset + r * stride]);
      this.add(conv, 0, 1, rows, sample);
      return;
    }
    const end = offset + rows * stride;
    let n = 0;
    let missing = 0;
    let nonFinite = 0;
    let min = this.min;
    let max = this.max;
    let shift = Number.NaN;
    let sum = 0;
    let sumSq = 0;
    for (let k = offset; k < end; k += stride) {
      const v = values[k] as number;
      if (v - v !== 0) {
        if (v !== v) missing++;
        else nonFinite++;
        continue;
      }
      if (n === 0) shift = v;
      const d = v - shift;
      sum += d;
      sumSq += d * d;
      if (v < min) min = v;
      if (v > max) max = v;
      n++;
    }
    this.count += n;
    this.missing += missing;
    this.nonFinite += nonFinite;
    this.min = min;
    this.max = max;
    mergeMoments(this.moments, momentsFromShiftedSums(n, shift, sum, sumSq));
    const sk = this.sketch;
    if (sample.rows === undefined) {
      for (let k = offset; k < end; k += stride) {
        const v = values[k] as number;
        if (v - v === 0) sk.accept(v);
      }
    } else {
      for (const r of sample.rows) {
        const v = values[offset + r * stride] as number;
        if (v - v === 0) sk.accept(v, sample.weight);
      }
    }
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
