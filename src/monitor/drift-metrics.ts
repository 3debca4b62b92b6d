/**
 * Drift metrics between a baseline and a current distribution. Pure functions over what a
 * profile holds: numeric columns as weighted points sorted by value (a sketch's buckets, or raw
 * values with weight 1), categorical columns as shares per category.
 *
 * Definitions (those of Evidently, Azure ML and Vertex AI model monitoring):
 * - KS: the two-sample Kolmogorov–Smirnov statistic sup_x |F_b(x) − F_c(x)|.
 * - Wasserstein (normalized): W1 = ∫ |F_b(x) − F_c(x)| dx divided by the baseline's standard
 *   deviation (floored at 0.001, as Evidently), so 0.1 means "moved by a tenth of a std".
 * - PSI: Σ (c_i − b_i)·ln(c_i / b_i) over bins cut at the baseline's deciles; a share below
 *   PSI_EPSILON (an empty bin) counts as PSI_EPSILON.
 * - Jensen–Shannon distance: √JSD with log base 2, in [0, 1] (scipy's jensenshannon, base 2),
 *   over the same decile bins for numeric columns and over categories for categorical ones.
 * - L-infinity: max_i |b_i − c_i| over categories.
 * - Unseen share: the share of current values in categories the baseline does not have.
 */

export const PSI_EPSILON = 1e-4;
export const PSI_BINS = 10;
export const STD_FLOOR = 1e-3;

export interface Point {
  readonly value: number;
  readonly weight: number;
}

/**
 * Both empirical CDFs, stepped together over the union of support points (both sorted
 * ascending): at each point x, F_a(x) and F_b(x) after the step. Undefined for an empty side.
 */
function* jointCdf(a: readonly Point[], b: readonly Point[]): Generator<{ x: number; fa: number; fb: number }, void, undefined> {
  const wa = totalWeight(a);
  const wb = totalWeight(b);
  let i = 0;
  let j = 0;
  let fa = 0;
  let fb = 0;
  while (i < a.length || j < b.length) {
    const x = Math.min(a[i]?.value ?? Infinity, b[j]?.value ?? Infinity);
    while (i < a.length && (a[i] as Point).value === x) fa += (a[i++] as Point).weight;
    while (j < b.length && (b[j] as Point).value === x) fb += (b[j++] as Point).weight;
    yield { x, fa: fa / wa, fb: fb / wb };
  }
}

/** sup |F_a − F_b| over the union of support points (both sorted ascending). */
export function ksStatistic(a: readonly Point[], b: readonly Point[]): number {
  if (totalWeight(a) === 0 || totalWeight(b) === 0) return Number.NaN;
  let d = 0;
  for (const { fa, fb } of jointCdf(a, b)) d = Math.max(d, Math.abs(fa - fb));
  return d;
}

/** W1 = ∫ |F_a − F_b| dx (both sorted ascending): the CDFs are steps, constant between points. */
export function wasserstein(a: readonly Point[], b: readonly Point[]): number {
  if (totalWeight(a) === 0 || totalWeight(b) === 0) return Number.NaN;
  let area = 0;
  let prev: { x: number; fa: number; fb: number } | undefined;
  for (const p of jointCdf(a, b)) {
    if (prev) area += Math.abs(prev.fa - prev.fb) * (p.x - prev.x);
    prev = p;
  }
  return area;
}

export function normalizedWasserstein(a: readonly Point[], b: readonly Point[], baselineStd: number): number {
  return wasserstein(a, b) / Math.max(baselineStd, STD_FLOOR);
}

/**
 * Upper edges of `bins` bins holding equal shares of the baseline: its lower quantiles at
 * 1/bins … (bins−1)/bins (the smallest value v with F(v) ≥ q), repeated edges dropped.
 * Bin i holds values in (edge[i−1], edge[i]]; the last bin everything above the last edge.
 */
export function quantileEdges(baseline: readonly Point[], bins = PSI_BINS): number[] {
  const w = totalWeight(baseline);
  const edges: number[] = [];
  if (w === 0) return edges;
  let cum = 0;
  let k = 1;
  for (const p of baseline) {
    cum += p.weight;
    while (k < bins && cum >= (k / bins) * w * (1 - 1e-12)) {
      if (edges[edges.length - 1] !== p.value) edges.push(p.value);
      k++;
    }
  }
  // The top quantile is the maximum: a bin above it would always be empty for the baseline.
  if (edges[edges.length - 1] === baseline[baseline.length - 1]?.value) edges.pop();
  return edges;
}

/** Shares of the points' weight in the bins cut at `edges` (see quantileEdges). */
export function binShares(points: readonly Point[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  const w = totalWeight(points);
  let bin = 0;
  for (const p of points) {
    while (bin < edges.length && p.value > (edges[bin] as number)) bin++;
    counts[bin] = (counts[bin] as number) + p.weight;
  }
  return counts.map((c) => (w === 0 ? 0 : c / w));
}

export function psi(baseline: readonly number[], current: readonly number[]): number {
  let s = 0;
  baseline.forEach((b0, i) => {
    const b = Math.max(b0, PSI_EPSILON);
    const c = Math.max(current[i] ?? 0, PSI_EPSILON);
    s += (c - b) * Math.log(c / b);
  });
  return s;
}

/** Jensen–Shannon distance (base 2) between two share vectors of equal length. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  let js = 0;
  p.forEach((pi, i) => {
    const qi = q[i] ?? 0;
    const m = (pi + qi) / 2;
    if (pi > 0) js += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) js += 0.5 * qi * Math.log2(qi / m);
  });
  return Math.sqrt(Math.max(0, js));
}

export function lInfinity(p: readonly number[], q: readonly number[]): number {
  let d = 0;
  p.forEach((pi, i) => {
    d = Math.max(d, Math.abs(pi - (q[i] ?? 0)));
  });
  return d;
}

/** Category shares of baseline and current over the union of their categories, plus "other". */
export interface CategoryShares {
  readonly categories: string[];
  readonly baseline: number[];
  readonly current: number[];
}

/**
 * Aligns two category counts (each with the total it was taken from: values not listed fall in
 * "other", which is how a bounded top-k counter's tail is compared).
 */
export function alignCategories(
  baseline: ReadonlyMap<string, number>,
  baselineTotal: number,
  current: ReadonlyMap<string, number>,
  currentTotal: number,
): CategoryShares {
  const categories = [...new Set([...baseline.keys(), ...current.keys()])].sort();
  const share = (m: ReadonlyMap<string, number>, total: number): number[] => {
    const s = categories.map((c) => (total === 0 ? 0 : (m.get(c) ?? 0) / total));
    const listed = s.reduce((a, b) => a + b, 0);
    return [...s, Math.max(0, (total === 0 ? 0 : 1) - listed)];
  };
  return { categories: [...categories, '(other)'], baseline: share(baseline, baselineTotal), current: share(current, currentTotal) };
}

export function unseenShare(baseline: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>, currentTotal: number): number {
  if (currentTotal === 0) return Number.NaN;
  let unseen = 0;
  for (const [c, n] of current) if (!baseline.has(c)) unseen += n;
  return unseen / currentTotal;
}

export function totalWeight(points: readonly Point[]): number {
  let w = 0;
  for (const p of points) w += p.weight;
  return w;
}

/** Raw values as points (sorted, equal values combined): for exact computation on small data. */
export function pointsOf(values: readonly number[]): Point[] {
  const sorted = [...values].sort((x, y) => x - y);
  const out: { value: number; weight: number }[] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && last.value === v) last.weight++;
    else out.push({ value: v, weight: 1 });
  }
  return out;
}
