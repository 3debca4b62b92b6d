/**
 * Champion/challenger comparison maths: per score column, what the challenger would have changed
 * on the rows the champion scored. Pure functions over plain JSON states, so a shard collects
 * one state per column (create/add), finalize merges the shards' states (merge) and the report
 * shows the summary (summarise).
 *
 * Columns with float values (probabilities, scores) are "score" columns; columns of labels
 * (int64, int32, strings, booleans) are "label" columns. Score pairs with a NaN or an infinity
 * on either side are counted (`nan`) and left out of everything else.
 *
 * How each figure merges across shards:
 * - rows, mean and max |Δ|, mean Δ, threshold agreement, label agreement and confusion: exact
 *   counts and sums (float sums in shard order: equal to the last bits, not bit for bit);
 * - Pearson: co-moments merged exactly (Chan, Golub & LeVeque), to floating-point rounding;
 * - quantiles of Δ and PSI: DDSketch buckets of Δ and of each model's scores (1 % relative
 *   accuracy, merged exactly: bucket counts add); PSI is taken over the champion's deciles;
 * - Spearman: exact up to SAMPLE_ROWS rows; above, on the SAMPLE_ROWS rows of smallest hash of
 *   (input object, line). That sample is the same rows however the run was sharded, so the merge
 *   is exact; its sampling error is about (1 − ρ²)/√2048, under 0.03;
 * - largest disagreements: the TOP_ROWS rows of largest |Δ| (ties and label disagreements by
 *   the same hash), also the same rows however the run was sharded.
 */
import type { ColumnarBatch, ScoreColumns } from '../core/types.js';
import { binShares, psi as psiOf, quantileEdges } from '../monitor/drift-metrics.js';
import { hash53 } from '../monitor/distinct-count.js';
import {
  mergeSketchJson,
  newSketch,
  sketchBuckets,
  sketchFromJson,
  sketchQuantile,
  sketchToJson,
  type QuantileSketch,
  type SketchJson,
} from '../monitor/quantile-sketch.js';

export const SAMPLE_ROWS = 2048;
export const TOP_ROWS = 10;
/** Distinct (champion, challenger) label pairs kept per column; more are counted as "other". */
export const MAX_LABEL_PAIRS = 256;

/** Where a compared column's values are: output index and offset within the output's width. */
export interface ComparedColumn {
  readonly column: string;
  readonly champion: { readonly output: number; readonly offset: number };
  readonly challenger: { readonly output: number; readonly offset: number };
  /** Decision threshold for agreement (score columns). */
  readonly threshold?: number | undefined;
}

/** A row of the largest-disagreement sample. */
export interface DisagreementRow {
  ids: Record<string, string>;
  object: string;
  line: number;
  champion: number | string;
  challenger: number | string;
  /** Score columns: challenger − champion. */
  diff?: number;
  /** The row's hash (orders ties and label disagreements). */
  key: number;
}

export interface ThresholdCounts {
  value: number;
  bothPositive: number;
  championOnly: number;
  challengerOnly: number;
  bothNegative: number;
}

export interface ScoreComparisonState {
  kind: 'score';
  rows: number;
  nan: number;
  sumAbs: number;
  maxAbs: number;
  sumDiff: number;
  /** Co-moments of (champion x, challenger y). */
  meanX: number;
  meanY: number;
  m2x: number;
  m2y: number;
  cxy: number;
  champion: SketchJson;
  challenger: SketchJson;
  diff: SketchJson;
  threshold?: ThresholdCounts;
  /** Bottom-SAMPLE_ROWS rows by hash: [key, x, y] flattened. */
  sample: number[];
  top: DisagreementRow[];
}

export interface LabelComparisonState {
  kind: 'label';
  rows: number;
  agree: number;
  /** "champion\u0000challenger" → rows. */
  pairs: Record<string, number>;
  otherPairs: number;
  top: DisagreementRow[];
}

export type ComparisonState = ScoreComparisonState | LabelComparisonState;

/** Where a batch came from, to name the rows of the disagreement sample. */
export interface BatchSource {
  readonly object: string;
  readonly idColumns: readonly string[];
}

/** A column's collector during a shard: the state plus what makes adding fast (live sketches). */
export class ColumnComparison {
  private state: ComparisonState | undefined;
  private sketches: { champion: QuantileSketch; challenger: QuantileSketch; diff: QuantileSketch } | undefined;
  /** Unsorted sample candidates and the key a row must be below to enter. */
  private sampleLimit = Infinity;

  constructor(readonly spec: ComparedColumn) {}

  add(batch: ColumnarBatch, champion: readonly ScoreColumns[], challenger: readonly ScoreColumns[], source: BatchSource): void {
    const c = champion[this.spec.champion.output];
    const h = challenger[this.spec.challenger.output];
    if (!c || !h || batch.rows === 0) return;
    const numeric = isFloat(c.values) && isFloat(h.values);
    const st = (this.state ??= numeric ? newScoreState(this.spec.threshold) : newLabelState());
    const seed = hash53(source.object);
    if (st.kind === 'score' && isFloat(c.values) && isFloat(h.values)) this.addScores(st, batch, c as FloatColumns, h as FloatColumns, source, seed);
    else if (st.kind === 'label') this.addLabels(st, batch, c, h, source, seed);
  }

  toJson(): ComparisonState | undefined {
    const st = this.state;
    if (st?.kind === 'score' && this.sketches) {
      st.champion = sketchToJson(this.sketches.champion);
      st.challenger = sketchToJson(this.sketches.challenger);
      st.diff = sketchToJson(this.sketches.diff);
      st.sample = trimSample(st.sample);
    }
    return st;
  }

  private addScores(st: ScoreComparisonState, batch: ColumnarBatch, c: FloatColumns, h: FloatColumns, source: BatchSource, seed: number): void {
    const sk = (this.sketches ??= { champion: newSketch(), challenger: newSketch(), diff: newSketch() });
    const cv = c.values;
    const hv = h.values;
    const co = this.spec.champion.offset;
    const ho = this.spec.challenger.offset;
    const t = st.threshold;
    for (let r = 0; r < batch.rows; r++) {
      const x = cv[r * c.width + co] as number;
      const y = hv[r * h.width + ho] as number;
      // NaN or ±Infinity on either side: counted, never compared (x - x is NaN for both).
      if (x - x !== 0 || y - y !== 0) {
        st.nan++;
        continue;
      }
      const d = y - x;
      const abs = Math.abs(d);
      st.rows++;
      st.sumAbs += abs;
      st.sumDiff += d;
      if (abs > st.maxAbs) st.maxAbs = abs;
      // Welford's update of the co-moments.
      const dx = x - st.meanX;
      st.meanX += dx / st.rows;
      const dy = y - st.meanY;
      st.meanY += dy / st.rows;
      st.m2x += dx * (x - st.meanX);
      st.m2y += dy * (y - st.meanY);
      st.cxy += dx * (y - st.meanY);
      sk.champion.accept(x);
      sk.challenger.accept(y);
      sk.diff.accept(d);
      if (t) {
        const px = x >= t.value;
        const py = y >= t.value;
        if (px && py) t.bothPositive++;
        else if (px) t.championOnly++;
        else if (py) t.challengerOnly++;
        else t.bothNegative++;
      }
      const line = batch.lines[r] as number;
      const key = rowKey(seed, line);
      if (key < this.sampleLimit) {
        st.sample.push(key, x, y);
        if (st.sample.length >= 6 * SAMPLE_ROWS) {
          st.sample = trimSample(st.sample);
          this.sampleLimit = st.sample[st.sample.length - 3] as number;
        }
      }
      if (abs > 0 && entersTop(st.top, abs, key)) {
        insertTop(st.top, { ids: rowIds(batch, r, source.idColumns), object: source.object, line, champion: x, challenger: y, diff: d, key });
      }
    }
  }

  private addLabels(st: LabelComparisonState, batch: ColumnarBatch, c: ScoreColumns, h: ScoreColumns, source: BatchSource, seed: number): void {
    const co = this.spec.champion.offset;
    const ho = this.spec.challenger.offset;
    for (let r = 0; r < batch.rows; r++) {
      const x = labelText(c.values[r * c.width + co]);
      const y = labelText(h.values[r * h.width + ho]);
      st.rows++;
      if (x === y) st.agree++;
      addPair(st, `${x}\u0000${y}`, 1);
      if (x === y) continue;
      const line = batch.lines[r] as number;
      const key = rowKey(seed, line);
      if (entersTop(st.top, 0, key))
        insertTop(st.top, { ids: rowIds(batch, r, source.idColumns), object: source.object, line, champion: x, challenger: y, key });
    }
  }
}

type FloatColumns = ScoreColumns & { readonly values: Float32Array | Float64Array };

function isFloat(v: ScoreColumns['values']): v is Float32Array | Float64Array {
  return v instanceof Float32Array || v instanceof Float64Array;
}

function labelText(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function newScoreState(threshold: number | undefined): ScoreComparisonState {
  const empty = sketchToJson(newSketch());
  return {
    kind: 'score',
    rows: 0,
    nan: 0,
    sumAbs: 0,
    maxAbs: 0,
    sumDiff: 0,
    meanX: 0,
    meanY: 0,
    m2x: 0,
    m2y: 0,
    cxy: 0,
    champion: empty,
    challenger: empty,
    diff: empty,
    ...(threshold !== undefined ? { threshold: { value: threshold, bothPositive: 0, championOnly: 0, challengerOnly: 0, bothNegative: 0 } } : {}),
    sample: [],
    top: [],
  };
}

function newLabelState(): LabelComparisonState {
  return { kind: 'label', rows: 0, agree: 0, pairs: {}, otherPairs: 0, top: [] };
}

/**
 * A row's 53-bit hash from its input object (hashed once per batch) and its line: the same for a
 * row whichever shard read it.
 */
export function rowKey(objectHash: number, line: number): number {
  const lo = fmix32((objectHash >>> 0) ^ Math.imul(line, 0x9e3779b1));
  const hi = fmix32((Math.floor(objectHash / 4294967296) | 0) + Math.imul(line ^ lo, 0x85ebca6b));
  return (hi & 0x1fffff) * 4294967296 + (lo >>> 0);
}

function fmix32(h0: number): number {
  let h = h0 | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The id cells of a row, decoding only this row's bytes on the fast CSV path. */
function rowIds(batch: ColumnarBatch, row: number, idColumns: readonly string[]): Record<string, string> {
  const ids: Record<string, string> = {};
  const bytes = batch.textBytes?.ids;
  idColumns.forEach((col, i) => {
    const cells = bytes?.[i];
    if (cells) ids[col] = cells.bytes.toString('utf8', cells.offsets[row], cells.offsets[row + 1]);
    else ids[col] = batch.ids[i]?.[row] ?? '';
  });
  return ids;
}

/** Largest |Δ| first; ties (and label disagreements, all Δ 0 here) by smallest key. */
function topOrder(a: { diff?: number | undefined; key: number }, b: { diff?: number | undefined; key: number }): number {
  const d = Math.abs(b.diff ?? 0) - Math.abs(a.diff ?? 0);
  return d !== 0 ? d : a.key - b.key;
}

function entersTop(top: readonly DisagreementRow[], abs: number, key: number): boolean {
  if (top.length < TOP_ROWS) return true;
  return topOrder({ diff: abs, key }, top[top.length - 1] as DisagreementRow) < 0;
}

function insertTop(top: DisagreementRow[], row: DisagreementRow): void {
  top.push(row);
  top.sort(topOrder);
  if (top.length > TOP_ROWS) top.length = TOP_ROWS;
}

function addPair(st: LabelComparisonState, pair: string, n: number): void {
  if (st.pairs[pair] !== undefined || Object.keys(st.pairs).length < MAX_LABEL_PAIRS) st.pairs[pair] = (st.pairs[pair] ?? 0) + n;
  else st.otherPairs += n;
}

/** The SAMPLE_ROWS triples [key, x, y] of smallest key. */
function trimSample(flat: readonly number[]): number[] {
  const idx: number[] = [];
  for (let i = 0; i < flat.length; i += 3) idx.push(i);
  idx.sort((a, b) => (flat[a] as number) - (flat[b] as number));
  const out: number[] = [];
  for (const i of idx.slice(0, SAMPLE_ROWS)) out.push(flat[i] as number, flat[i + 1] as number, flat[i + 2] as number);
  return out;
}

/** Merges b into a copy of a (states of the same column from two shards). */
export function mergeComparison(a: ComparisonState, b: ComparisonState): ComparisonState {
  if (a.kind !== b.kind) throw new Error(`cannot merge a ${a.kind} comparison with a ${b.kind} comparison`);
  if (a.kind === 'label' && b.kind === 'label') {
    const out: LabelComparisonState = {
      ...a,
      pairs: { ...a.pairs },
      rows: a.rows + b.rows,
      agree: a.agree + b.agree,
      otherPairs: a.otherPairs + b.otherPairs,
      top: mergeTop(a.top, b.top),
    };
    for (const [k, n] of Object.entries(b.pairs)) addPair(out, k, n);
    return out;
  }
  const x = a as ScoreComparisonState;
  const y = b as ScoreComparisonState;
  const n = x.rows + y.rows;
  const out: ScoreComparisonState = {
    ...x,
    rows: n,
    nan: x.nan + y.nan,
    sumAbs: x.sumAbs + y.sumAbs,
    maxAbs: Math.max(x.maxAbs, y.maxAbs),
    sumDiff: x.sumDiff + y.sumDiff,
    champion: mergeSketches(x.champion, y.champion),
    challenger: mergeSketches(x.challenger, y.challenger),
    diff: mergeSketches(x.diff, y.diff),
    sample: trimSample([...x.sample, ...y.sample]),
    top: mergeTop(x.top, y.top),
  };
  if (x.rows === 0 || y.rows === 0) Object.assign(out, pickMoments(x.rows === 0 ? y : x));
  else {
    const fx = y.meanX - x.meanX;
    const fy = y.meanY - x.meanY;
    const w = (x.rows * y.rows) / n;
    out.meanX = x.meanX + (fx * y.rows) / n;
    out.meanY = x.meanY + (fy * y.rows) / n;
    out.m2x = x.m2x + y.m2x + fx * fx * w;
    out.m2y = x.m2y + y.m2y + fy * fy * w;
    out.cxy = x.cxy + y.cxy + fx * fy * w;
  }
  if (x.threshold && y.threshold) {
    out.threshold = {
      value: x.threshold.value,
      bothPositive: x.threshold.bothPositive + y.threshold.bothPositive,
      championOnly: x.threshold.championOnly + y.threshold.championOnly,
      challengerOnly: x.threshold.challengerOnly + y.threshold.challengerOnly,
      bothNegative: x.threshold.bothNegative + y.threshold.bothNegative,
    };
  }
  return out;
}

function pickMoments(s: ScoreComparisonState): Pick<ScoreComparisonState, 'meanX' | 'meanY' | 'm2x' | 'm2y' | 'cxy'> {
  return { meanX: s.meanX, meanY: s.meanY, m2x: s.m2x, m2y: s.m2y, cxy: s.cxy };
}

function mergeSketches(a: SketchJson, b: SketchJson): SketchJson {
  const s = sketchFromJson(a);
  mergeSketchJson(s, b);
  return sketchToJson(s);
}

function mergeTop(a: readonly DisagreementRow[], b: readonly DisagreementRow[]): DisagreementRow[] {
  return [...a, ...b].sort(topOrder).slice(0, TOP_ROWS);
}

export type Quantiles = Record<'p01' | 'p05' | 'p25' | 'p50' | 'p75' | 'p95' | 'p99', number | null>;

export interface ScoreComparisonSummary {
  kind: 'score';
  /** Rows compared (both values a number). */
  rows: number;
  /** Rows with NaN or ±Infinity from either model (not compared). */
  nan: number;
  meanAbsDiff: number | null;
  maxAbsDiff: number | null;
  /** Mean of challenger − champion. */
  meanDiff: number | null;
  championMean: number | null;
  challengerMean: number | null;
  pearson: number | null;
  spearman: number | null;
  /** Rows Spearman was computed on (all rows up to SAMPLE_ROWS, else a hash sample of that many). */
  spearmanRows: number;
  /** PSI of the challenger's score distribution against the champion's, over the champion's deciles. */
  psi: number | null;
  /** Quantiles of challenger − champion (within 1 % relative accuracy). */
  diffQuantiles: Quantiles;
  threshold?: { value: number; agreement: number | null; bothPositive: number; championOnly: number; challengerOnly: number; bothNegative: number };
  largestDisagreements: Omit<DisagreementRow, 'key'>[];
}

export interface LabelComparisonSummary {
  kind: 'label';
  rows: number;
  agreement: number | null;
  /** Rows per (champion label, challenger label), most frequent first. */
  confusion: { champion: string; challenger: string; rows: number }[];
  /** Rows of label pairs beyond the MAX_LABEL_PAIRS kept. */
  otherPairs: number;
  /** A sample of rows where the labels differ (the same rows however the run was sharded). */
  disagreements: Omit<DisagreementRow, 'key'>[];
}

export type ComparisonSummary = ScoreComparisonSummary | LabelComparisonSummary;

export function summariseComparison(st: ComparisonState): ComparisonSummary {
  const strip = (rows: readonly DisagreementRow[]): Omit<DisagreementRow, 'key'>[] => rows.map(({ key: _k, ...rest }) => rest);
  if (st.kind === 'label') {
    return {
      kind: 'label',
      rows: st.rows,
      agreement: st.rows === 0 ? null : st.agree / st.rows,
      confusion: Object.entries(st.pairs)
        .map(([k, rows]) => {
          const [champion = '', challenger = ''] = k.split('\u0000');
          return { champion, challenger, rows };
        })
        .sort((a, b) => b.rows - a.rows || a.champion.localeCompare(b.champion) || a.challenger.localeCompare(b.challenger)),
      otherPairs: st.otherPairs,
      disagreements: strip(st.top),
    };
  }
  const n = st.rows;
  const empty = n === 0;
  const diff = sketchFromJson(st.diff);
  const q = (p: number): number | null => sketchQuantile(diff, p);
  const t = st.threshold;
  const sample = trimSample(st.sample);
  return {
    kind: 'score',
    rows: n,
    nan: st.nan,
    meanAbsDiff: empty ? null : st.sumAbs / n,
    maxAbsDiff: empty ? null : st.maxAbs,
    meanDiff: empty ? null : st.sumDiff / n,
    championMean: empty ? null : st.meanX,
    challengerMean: empty ? null : st.meanY,
    pearson: correlation(st.cxy, st.m2x, st.m2y),
    spearman: spearmanOf(sample),
    spearmanRows: sample.length / 3,
    psi: empty ? null : scorePsi(st.champion, st.challenger),
    diffQuantiles: { p01: q(0.01), p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) },
    ...(t
      ? {
          threshold: {
            value: t.value,
            agreement: empty ? null : (t.bothPositive + t.bothNegative) / n,
            bothPositive: t.bothPositive,
            championOnly: t.championOnly,
            challengerOnly: t.challengerOnly,
            bothNegative: t.bothNegative,
          },
        }
      : {}),
    largestDisagreements: strip(st.top),
  };
}

/**
 * Pearson's r from co-moments; 1 when both sides are constant and equal everywhere is not
 * knowable here, so a constant side gives null (undefined correlation).
 */
function correlation(cxy: number, m2x: number, m2y: number): number | null {
  if (!(m2x > 0) || !(m2y > 0)) return null;
  return clamp(cxy / Math.sqrt(m2x * m2y));
}

function clamp(r: number): number {
  return Math.max(-1, Math.min(1, r));
}

/** Spearman's ρ: Pearson's r of the ranks (ties get their average rank). */
export function spearmanOf(flat: readonly number[]): number | null {
  const n = flat.length / 3;
  if (n < 2) return null;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    xs.push(flat[i + 1] as number);
    ys.push(flat[i + 2] as number);
  }
  const rx = ranks(xs);
  const ry = ranks(ys);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += rx[i] as number;
    my += ry[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = (rx[i] as number) - mx;
    const b = (ry[i] as number) - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return correlation(sxy, sxx, syy);
}

export function ranks(values: readonly number[]): number[] {
  const idx = values.map((_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
  const out = new Array<number>(values.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1] as number] === values[idx[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k] as number] = rank;
    i = j + 1;
  }
  return out;
}

function scorePsi(champion: SketchJson, challenger: SketchJson): number | null {
  const base = sketchBuckets(champion);
  const cur = sketchBuckets(challenger);
  if (base.length === 0 || cur.length === 0) return null;
  const edges = quantileEdges(base);
  return psiOf(binShares(base, edges), binShares(cur, edges));
}

/** Output columns of a job's model (champion or challenger): where each column's values are. */
interface OutputMapping {
  readonly outputs: readonly { readonly columns: readonly string[] }[];
}

/**
 * The columns a challenger is compared on: each of its columns against the champion's column of
 * the same name (the spec check makes sure there is one), with its decision threshold.
 */
export function comparedColumns(
  champion: OutputMapping,
  challenger: OutputMapping,
  threshold: number | Readonly<Record<string, number>> | undefined,
): ComparedColumn[] {
  const where = (m: OutputMapping): Map<string, { output: number; offset: number }> =>
    new Map(m.outputs.flatMap((o, output) => o.columns.map((col, offset) => [col, { output, offset }] as const)));
  const champ = where(champion);
  const out: ComparedColumn[] = [];
  for (const [column, loc] of where(challenger)) {
    const c = champ.get(column);
    if (!c) continue;
    const t = typeof threshold === 'number' ? threshold : threshold?.[column];
    out.push({ column, champion: c, challenger: loc, ...(t !== undefined ? { threshold: t } : {}) });
  }
  return out;
}
