/**
 * The readable side of a profile, for the run report: per column the statistics a person checks
 * first. The mergeable state (sketches, counters) stays in `_profile.json`.
 */
import type { ColumnJson, Rejections } from './column-profile.js';
import { estimateDistinct, KMV_K } from './distinct-count.js';
import { stdDev } from './moments.js';
import { sketchFromJson, sketchQuantile } from './quantile-sketch.js';
import type { ProfileRows, RunProfile } from './run-profile.js';

const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
const TOP_SHOWN = 10;

export interface NumericSummary {
  kind: 'numeric';
  count: number;
  missing: number;
  rejected: Rejections;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** Within 1 % of the exact quantile (DDSketch; see monitor/quantile-sketch.ts). */
  quantiles: Record<keyof typeof QUANTILES, number | null>;
}

export interface CategoricalSummary {
  kind: 'categorical';
  count: number;
  missing: number;
  rejected: Rejections;
  /** Exact up to 1024 distinct values, then an estimate (±3 %). */
  distinct: number;
  distinctExact: boolean;
  /** Most frequent values with their share of the column's values. */
  top: { value: string; share: number }[];
}

export type ColumnSummary = NumericSummary | CategoricalSummary;

export interface ProfileSummary {
  rows: ProfileRows;
  inputs: Record<string, ColumnSummary>;
  scores: Record<string, ColumnSummary>;
}

export function summarizeProfile(p: RunProfile): ProfileSummary {
  const each = (cols: Record<string, ColumnJson>): Record<string, ColumnSummary> =>
    Object.fromEntries(Object.entries(cols).map(([k, c]) => [k, summarizeColumn(c)]));
  return { rows: p.rows, inputs: each(p.inputs), scores: each(p.scores) };
}

export function summarizeColumn(c: ColumnJson): ColumnSummary {
  if (c.kind === 'categorical') {
    return {
      kind: 'categorical',
      count: c.count,
      missing: c.missing,
      rejected: c.rejected,
      distinct: estimateDistinct(c.distinct),
      distinctExact: c.distinct.hashes.length < KMV_K,
      top: c.top.items.slice(0, TOP_SHOWN).map(([value, n]) => ({ value, share: round(n / Math.max(1, c.count)) })),
    };
  }
  const sk = sketchFromJson(c.sketch);
  const q = Object.fromEntries(Object.entries(QUANTILES).map(([k, v]) => [k, nullable(sketchQuantile(sk, v))])) as NumericSummary['quantiles'];
  // The sketch's quantiles are bucket values: clamp the ends to the exact min and max.
  for (const k of Object.keys(q) as (keyof typeof QUANTILES)[]) {
    const v = q[k];
    if (v !== null && c.min !== null && c.max !== null) q[k] = round(Math.min(c.max, Math.max(c.min, v)));
  }
  return {
    kind: 'numeric',
    count: c.count,
    missing: c.missing,
    rejected: c.rejected,
    min: c.min,
    max: c.max,
    mean: c.count === 0 ? null : round(c.moments.mean),
    std: nullable(stdDev(c.moments)),
    quantiles: q,
  };
}

function nullable(v: number | null): number | null {
  return v === null || Number.isNaN(v) ? null : round(v);
}

function round(v: number): number {
  return Number(v.toPrecision(8));
}
