/**
 * Summaries of score columns with bounded memory: exact count/min/max/mean, and quantiles and a
 * histogram from a uniform reservoir sample (so they are approximate above RESERVOIR rows).
 * States are plain JSON so shards can send them to the run's finalize step and be merged.
 */

import type { ScoreStatsState } from '../core/types.js';

export type { ScoreStatsState };

export const RESERVOIR = 4096;

export interface ScoreSummary {
  count: number;
  nan: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  quantiles: Record<'p01' | 'p05' | 'p25' | 'p50' | 'p75' | 'p95' | 'p99', number | null>;
  histogram: { edges: number[]; fractions: number[] };
  approximate: boolean;
}

export function newStats(): ScoreStatsState {
  return { count: 0, nan: 0, min: null, max: null, sum: 0, sample: [], seed: 0x9e3779b9 };
}

function nextRandom(s: ScoreStatsState): number {
  // mulberry32
  s.seed = (s.seed + 0x6d2b79f5) | 0;
  let t = s.seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function addValue(s: ScoreStatsState, v: number): void {
  if (Number.isNaN(v)) {
    s.nan++;
    return;
  }
  s.count++;
  if (s.min === null || v < s.min) s.min = v;
  if (s.max === null || v > s.max) s.max = v;
  s.sum += v;
  if (s.sample.length < RESERVOIR) s.sample.push(v);
  else {
    const j = Math.floor(nextRandom(s) * s.count);
    if (j < RESERVOIR) s.sample[j] = v;
  }
}

/** Merges b into a; sample entries are drawn in proportion to each side's count. */
export function mergeStats(a: ScoreStatsState, b: ScoreStatsState): ScoreStatsState {
  const out = newStats();
  out.count = a.count + b.count;
  out.nan = a.nan + b.nan;
  out.min = a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min);
  out.max = a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max);
  out.sum = a.sum + b.sum;
  if (a.sample.length + b.sample.length <= RESERVOIR) out.sample = [...a.sample, ...b.sample];
  else {
    const takeA = Math.round((RESERVOIR * a.count) / Math.max(1, out.count));
    out.sample = [...a.sample.slice(0, Math.min(takeA, a.sample.length)), ...b.sample.slice(0, RESERVOIR - Math.min(takeA, a.sample.length))];
  }
  return out;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function summarize(s: ScoreStatsState, bins = 10): ScoreSummary {
  const sorted = [...s.sample].sort((x, y) => x - y);
  const min = s.min ?? 0;
  const max = s.max ?? 0;
  const empty = s.count === 0;
  const edges: number[] = [];
  const fractions: number[] = [];
  if (!empty) {
    const width = (max - min) / bins || 1;
    for (let i = 0; i <= bins; i++) edges.push(min + width * i);
    const counts = new Array<number>(bins).fill(0);
    for (const v of sorted) counts[Math.min(bins - 1, Math.floor((v - min) / width))]! += 1;
    for (const c of counts) fractions.push(c / sorted.length);
  }
  const q = (p: number): number | null => quantile(sorted, p);
  return {
    count: s.count,
    nan: s.nan,
    min: s.min,
    max: s.max,
    mean: empty ? null : s.sum / s.count,
    quantiles: { p01: q(0.01), p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) },
    histogram: { edges, fractions },
    approximate: s.count > sorted.length,
  };
}
