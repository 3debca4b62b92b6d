/**
 * V8's heap growth for a process that streams its data through ArrayBuffers (input chunks,
 * tensors, encoded parts: ~1.1 GB per 2M rows in a worker, most of it freed young). Node 20's V8
 * counts the ArrayBuffer bytes allocated since the last full GC against the old generation's
 * limit, but sizes that limit from the JS heap alone: a worker's ~28 MB heap got ~24 MB of slack,
 * so a full GC started every ~24 MB of buffers. 2M rows through S3 took 36-60 full GCs, whose
 * concurrent marking kept V8's helper threads at ~3.5 CPU-s, on cores a worker shares with its
 * inference thread and often the S3 endpoint. At V8's own largest growth factor (4, what it picks
 * when GC is slow), the same run took 4-7 (bench/distributed.ts, 2026-11-30).
 */
import { setFlagsFromString } from 'node:v8';

/** Call once, first thing, in a process that streams shards (the heap limit is recomputed at each full GC). */
export function growHeapForStreaming(): void {
  // `node --heap-growing-percent=N …` chose for itself.
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString('--heap-growing-percent=300');
}
