/**
 * Distinct-value estimate with bounded memory: a K-minimum-values sketch (Bar-Yossef et al.
 * 2002; Beyer et al. 2007). Each value is hashed to [0, 1); the K smallest hashes are kept.
 * Up to K distinct values the count is exact; above, the estimate (K − 1) / h_K has a relative
 * standard error of about 1/√(K − 2) ≈ 3 % for K = 1024. Merging keeps the K smallest of the
 * union, so shards merge to what one shard would have kept.
 */
export const KMV_K = 1024;

export interface DistinctJson {
  /** The smallest hashes (53-bit integers), ascending. */
  hashes: number[];
}

export class DistinctCount {
  private readonly kept = new Set<number>();
  /** Largest hash kept once the set is full; new hashes at or above it are ignored. */
  private ceiling = Number.POSITIVE_INFINITY;

  add(value: string): void {
    this.addHash(hash53(value));
  }

  addHash(h: number): void {
    if (h >= this.ceiling || this.kept.has(h)) return;
    this.kept.add(h);
    if (this.kept.size > 2 * KMV_K) this.trim();
  }

  private trim(): void {
    const sorted = [...this.kept].sort((a, b) => a - b).slice(0, KMV_K);
    this.kept.clear();
    for (const h of sorted) this.kept.add(h);
    if (sorted.length === KMV_K) this.ceiling = sorted[KMV_K - 1] as number;
  }

  merge(j: DistinctJson): void {
    for (const h of j.hashes) this.addHash(h);
  }

  toJson(): DistinctJson {
    this.trim();
    return { hashes: [...this.kept].sort((a, b) => a - b) };
  }

  static fromJson(j: DistinctJson): DistinctCount {
    const d = new DistinctCount();
    d.merge(j);
    return d;
  }
}

export function estimateDistinct(j: DistinctJson): number {
  if (j.hashes.length < KMV_K) return j.hashes.length;
  const hk = (j.hashes[KMV_K - 1] as number) / 2 ** 53;
  return Math.round((KMV_K - 1) / hk);
}

/** cyrb53: a fast, well-mixed 53-bit string hash (public domain, bryc). */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
