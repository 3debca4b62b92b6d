/**
 * Count, mean and variance that merge exactly (Chan, Golub & LeVeque's parallel update), so a
 * run's standard deviation is the same whether it was scored as one shard or many.
 */
export interface Moments {
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
}

export function emptyMoments(): Moments {
  return { count: 0, mean: 0, m2: 0 };
}

/** Merges b into a (in place). */
export function mergeMoments(a: Moments, b: Moments): void {
  if (b.count === 0) return;
  if (a.count === 0) {
    a.count = b.count;
    a.mean = b.mean;
    a.m2 = b.m2;
    return;
  }
  const n = a.count + b.count;
  const delta = b.mean - a.mean;
  a.mean += (delta * b.count) / n;
  a.m2 += b.m2 + (delta * delta * a.count * b.count) / n;
  a.count = n;
}

/**
 * Moments of one batch from sums taken around `shift` (a value of the batch), which keeps the
 * single-pass sum of squares from cancelling catastrophically.
 */
export function momentsFromShiftedSums(count: number, shift: number, sum: number, sumSq: number): Moments {
  if (count === 0) return emptyMoments();
  const m = sum / count;
  return { count, mean: shift + m, m2: Math.max(0, sumSq - sum * m) };
}

/** Population standard deviation (as numpy's default), null when empty. */
export function stdDev(m: Moments): number | null {
  return m.count === 0 ? null : Math.sqrt(m.m2 / m.count);
}
