/**
 * The most frequent values of a column with bounded memory: a Misra–Gries summary in its
 * mergeable form (Agarwal et al., "Mergeable Summaries", 2012).
 *
 * At most CAPACITY counters are kept. Error bound: for every value v with true count f(v),
 * the kept count f̂(v) (0 if not kept) satisfies f(v) − ε ≤ f̂(v) ≤ f(v), where
 * ε = (n − Σ f̂) / (CAPACITY + 1) and n is the number of values seen. While a column has at
 * most CAPACITY distinct values nothing is ever dropped and every count is exact (ε = 0).
 */
export const CAPACITY = 256;

export interface FrequentItemsJson {
  /** Values seen. */
  n: number;
  /** [value, kept count], most frequent first, ties by value: deterministic. */
  items: [string, number][];
}

export class FrequentItems {
  n = 0;
  readonly counts = new Map<string, number>();

  add(value: string, weight = 1): void {
    this.n += weight;
    this.counts.set(value, (this.counts.get(value) ?? 0) + weight);
    // Reduce lazily at twice the capacity: amortised O(log k) per new value, same bound.
    if (this.counts.size > 2 * CAPACITY) this.reduce();
  }

  merge(j: FrequentItemsJson): void {
    this.n += j.n;
    for (const [v, c] of j.items) this.counts.set(v, (this.counts.get(v) ?? 0) + c);
    this.reduce();
  }

  /** Keeps the CAPACITY largest counters, minus the (CAPACITY+1)-th largest count. */
  private reduce(): void {
    if (this.counts.size <= CAPACITY) return;
    const sorted = sortedItems(this.counts);
    const cut = (sorted[CAPACITY] as [string, number])[1];
    this.counts.clear();
    for (const [v, c] of sorted.slice(0, CAPACITY)) if (c > cut) this.counts.set(v, c - cut);
  }

  toJson(): FrequentItemsJson {
    this.reduce();
    return { n: this.n, items: sortedItems(this.counts) };
  }

  static fromJson(j: FrequentItemsJson): FrequentItems {
    const f = new FrequentItems();
    f.merge(j);
    return f;
  }
}

/** The most a kept count can be below the true count (see the bound above). */
export function frequencyError(j: FrequentItemsJson): number {
  const kept = j.items.reduce((a, [, c]) => a + c, 0);
  return (j.n - kept) / (CAPACITY + 1);
}

function sortedItems(m: Map<string, number>): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
