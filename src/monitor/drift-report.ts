/**
 * Compares a run's profile with a baseline profile under the job's thresholds: every column,
 * every metric, its threshold and verdict, and one overall verdict. This is the report's
 * `monitoring` section; the run's gate (monitor.onDrift) acts on `verdict`.
 */
import type { DriftThresholds, MonitorSpec } from '../spec/job-spec.js';
import type { CategoricalColumnJson, ColumnJson, NumericColumnJson } from './column-profile.js';
import {
  alignCategories,
  binShares,
  jensenShannon,
  ksStatistic,
  lInfinity,
  normalizedWasserstein,
  psi,
  quantileEdges,
  unseenShare,
  type Point,
} from './drift-metrics.js';
import { frequencyError } from './frequent-items.js';
import { stdDev } from './moments.js';
import { sketchBuckets } from './quantile-sketch.js';
import type { RunProfile } from './run-profile.js';

export type MetricName = keyof DriftThresholds | 'rejectionRate';
/** ok: within threshold; warn: PSI between warn and alert; drift: above; skipped: not judged. */
export type Verdict = 'ok' | 'warn' | 'drift' | 'skipped';

export interface MetricResult {
  metric: MetricName;
  /** null when it cannot be computed (no values on one side). */
  value: number | null;
  threshold: number | { warn: number; alert: number } | 'off';
  verdict: Verdict;
}

export interface ColumnDrift {
  column: string;
  role: 'input' | 'score';
  kind: ColumnJson['kind'];
  values: { baseline: number; current: number };
  metrics: MetricResult[];
  verdict: Verdict;
  note?: string;
}

export interface BaselineRef {
  /** previous | model | uri */
  source: string;
  uri: string;
  /** The run or model version it came from, when known. */
  from?: string;
}

export interface MonitoringSection {
  baseline: BaselineRef;
  verdict: 'ok' | 'warn' | 'drift';
  onDrift: MonitorSpec['onDrift'];
  /** "column metric" of every metric that drifted, worst first. */
  drifted: string[];
  /** The metric furthest above (or closest to) its threshold. */
  worst: { column: string; metric: MetricName; value: number; threshold: number } | null;
  rows: MetricResult & { baseline: number; current: number };
  columns: ColumnDrift[];
}

/** The report's `monitoring` when there is nothing to compare with. */
export interface NoBaseline {
  baseline: null;
  verdict: 'not_judged' | 'error';
  note: string;
}

export type MonitoringReport = MonitoringSection | NoBaseline;

export function compareProfiles(current: RunProfile, baseline: RunProfile, ref: BaselineRef, m: MonitorSpec): MonitoringSection {
  const columns: ColumnDrift[] = [];
  for (const [role, cur, base] of [
    ['input', current.inputs, baseline.inputs],
    ['score', current.scores, baseline.scores],
  ] as const) {
    for (const [name, c] of Object.entries(cur)) {
      const b = base[name];
      if (!b) continue; // checked at plan (checkBaseline); a score column may be absent from an empty run
      columns.push(compareColumn(name, role, c, b, baseline.rows.read, current.rows.read, m));
    }
  }
  const rate = (p: RunProfile): number => (p.rows.read === 0 ? 0 : p.rows.rejected / p.rows.read);
  const rows = {
    ...judge('rejectionRate', current.rows.read === 0 ? null : Math.abs(rate(current) - rate(baseline)), m.rejectionRate),
    baseline: rate(baseline),
    current: rate(current),
  };
  const all = [...columns.flatMap((c) => c.metrics.map((r) => ({ column: c.column, r }))), { column: '(rows)', r: rows as MetricResult }];
  const ranked = all
    .filter((x) => x.r.value !== null && x.r.threshold !== 'off')
    .map((x) => ({ ...x, ratio: (x.r.value as number) / Math.max(1e-12, limitOf(x.r.threshold)) }))
    .sort((a, b) => b.ratio - a.ratio);
  const top = ranked[0];
  const verdicts = all.map((x) => x.r.verdict);
  return {
    baseline: ref,
    verdict: verdicts.includes('drift') ? 'drift' : verdicts.includes('warn') ? 'warn' : 'ok',
    onDrift: m.onDrift,
    drifted: ranked.filter((x) => x.r.verdict === 'drift').map((x) => `${x.column} ${x.r.metric}`),
    worst: top ? { column: top.column, metric: top.r.metric, value: round(top.r.value as number), threshold: limitOf(top.r.threshold) } : null,
    rows,
    columns,
  };
}

function compareColumn(name: string, role: 'input' | 'score', c: ColumnJson, b: ColumnJson, baseRows: number, curRows: number, m: MonitorSpec): ColumnDrift {
  const over = m.columns[name] ?? {};
  const t: DriftThresholds = { ...m.thresholds, ...definedOnly(over) };
  const out: ColumnDrift = { column: name, role, kind: c.kind, values: { baseline: b.count, current: c.count }, metrics: [], verdict: 'ok' };
  const missingShare = (j: ColumnJson, rows: number): number => (rows === 0 ? 0 : (j.missing + sumValues(j.rejected)) / rows);
  const metrics: [MetricName, number | null][] = [['missingShare', curRows === 0 ? null : Math.abs(missingShare(c, curRows) - missingShare(b, baseRows))]];
  if (c.kind !== b.kind) {
    out.note = `the baseline profiles this column as ${b.kind}, the run as ${c.kind}`;
  } else if (c.count > 0 && b.count > 0) {
    if (c.kind === 'numeric') metrics.push(...numericMetrics(c, b as NumericColumnJson));
    else metrics.push(...categoricalMetrics(c, b as CategoricalColumnJson, out));
  }
  const tooFew = Math.min(c.count, b.count) < m.minRows;
  if (tooFew) out.note = `fewer than monitor.minRows (${m.minRows}) values: not judged`;
  out.metrics = metrics.map(([metric, v]) => {
    const r = judge(metric, v, thresholdFor(t, metric));
    return over.ignore || (tooFew && metric !== 'missingShare') ? { ...r, verdict: 'skipped' } : r;
  });
  if (over.ignore) out.note = 'monitor.columns.ignore: not judged';
  out.verdict = worstVerdict(out.metrics.map((r) => r.verdict));
  return out;
}

function numericMetrics(c: NumericColumnJson, b: NumericColumnJson): [MetricName, number][] {
  const cb: Point[] = sketchBuckets(c.sketch);
  const bb: Point[] = sketchBuckets(b.sketch);
  const edges = quantileEdges(bb);
  const pb = binShares(bb, edges);
  const pc = binShares(cb, edges);
  return [
    ['psi', psi(pb, pc)],
    ['jensenShannon', jensenShannon(pb, pc)],
    ['wasserstein', normalizedWasserstein(bb, cb, stdDev(b.moments) ?? 0)],
    ['ks', ksStatistic(bb, cb)],
  ];
}

function categoricalMetrics(c: CategoricalColumnJson, b: CategoricalColumnJson, out: ColumnDrift): [MetricName, number][] {
  const bm = new Map(b.top.items);
  const cm = new Map(c.top.items);
  const shares = alignCategories(bm, b.count, cm, c.count);
  if (frequencyError(b.top) > 0) out.note = 'the baseline has more categories than a profile keeps: unseen share is an upper bound';
  return [
    ['jensenShannon', jensenShannon(shares.baseline, shares.current)],
    ['lInfinity', lInfinity(shares.baseline, shares.current)],
    ['unseenShare', unseenShare(bm, cm, c.count)],
  ];
}

function thresholdFor(t: DriftThresholds, metric: MetricName): MetricResult['threshold'] {
  return metric === 'rejectionRate' ? 'off' : t[metric];
}

function judge(metric: MetricName, value: number | null, threshold: MetricResult['threshold']): MetricResult {
  const v = value === null || Number.isNaN(value) ? null : round(value);
  let verdict: Verdict = 'ok';
  if (v === null || threshold === 'off') verdict = 'skipped';
  else if (typeof threshold === 'number') verdict = v > threshold ? 'drift' : 'ok';
  else verdict = v > threshold.alert ? 'drift' : v > threshold.warn ? 'warn' : 'ok';
  return { metric, value: v, threshold, verdict };
}

function limitOf(t: MetricResult['threshold']): number {
  return t === 'off' ? Infinity : typeof t === 'number' ? t : t.alert;
}

const ORDER: Verdict[] = ['skipped', 'ok', 'warn', 'drift'];
function worstVerdict(vs: readonly Verdict[]): Verdict {
  return vs.reduce<Verdict>((w, v) => (ORDER.indexOf(v) > ORDER.indexOf(w) ? v : w), 'skipped');
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'ignore')) as Partial<T>;
}

function sumValues(r: Partial<Record<string, number>>): number {
  return Object.values(r).reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** Metrics are reported to 6 significant digits: stable bytes across platforms' last-bit noise. */
function round(v: number): number {
  return Number(v.toPrecision(6));
}
