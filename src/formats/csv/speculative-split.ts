/**
 * Cuts a large CSV object into byte-range shards without reading it (issue #17): the header by
 * one small ranged read, then a cut every shardBytes, each moved to the first record at or after
 * it by reading a window there (record-start.ts). Nothing is read serially, so planning a large
 * object costs a few windows, not a pass over its bytes.
 *
 * Each start is a speculation about the quote state at the cut; the shards prove or refute it
 * (range-census.ts counts each range's quotes and lines, finalize checks the chain and fixes
 * line numbers). Undefined when any cut is in doubt: the caller takes the serial split
 * (split-csv.ts) for this object instead, which is exact by construction.
 */
import type { CsvOptions } from '../../spec/job-spec.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { readAll } from '../../storage/object-store.js';
import { RangeCensus } from './range-census.js';
import { findRecordStart } from './record-start.js';
import { parseHeader, type SplitPlan } from './split-csv.js';

const LF = 0x0a;
const CR = 0x0d;
/** Bytes read at each cut, then once more at most MAX_WINDOW if the first window cannot tell. */
const WINDOW = 64 * 1024;
const MAX_WINDOW = 1024 * 1024;
/** Window reads in flight at once: enough for the cuts of most objects in one round trip (at most 16 MiB held). */
const PARALLEL_READS = 16;

/** Whether the speculative split can be exact for these options (else the serial split). */
export function canSplitSpeculatively(csv: CsvOptions): boolean {
  // relaxQuotes: a quote inside an unquoted field is text, so quote parity is not the parser's state.
  return !csv.relaxQuotes && isAsciiByte(csv.delimiter) && isAsciiByte(csv.quote) && csv.delimiter !== csv.quote;
}

function isAsciiByte(c: string): boolean {
  const code = c.charCodeAt(0);
  return c.length === 1 && code < 0x80 && code !== LF && code !== CR;
}

/**
 * Ranges in object order; every one but the first starts at a speculated record start and gets
 * linesBefore 0 (its lines are counted by its shard). Undefined: a cut the windows cannot decide.
 */
export async function splitSpeculatively(
  store: ObjectStore,
  key: string,
  display: string,
  size: number,
  csv: CsvOptions,
  shardBytes: number,
  signal?: AbortSignal,
): Promise<SplitPlan | undefined> {
  const read = async (start: number, length: number): Promise<Buffer> => {
    const end = Math.min(size, start + length) - 1;
    return readAll(await store.read(key, { range: { start, end }, ...(signal ? { signal } : {}) }));
  };
  const head = await readHeader(read, size, csv.quote.charCodeAt(0));
  if (!head) return undefined;
  const header = parseHeader(head.bytes, csv, display);
  const options = { delimiter: csv.delimiter.charCodeAt(0), quote: csv.quote.charCodeAt(0), fields: header.length };
  const cuts: number[] = [];
  for (let c = head.end + shardBytes; c < size; c += shardBytes) cuts.push(c);
  const starts = await mapBounded(cuts, PARALLEL_READS, async (cut) => {
    for (let length = WINDOW; ; length *= 4) {
      const window = await read(cut - 1, length + 1);
      const found = findRecordStart(window, cut + length >= size, options);
      if (found?.certain) return cut - 1 + found.start;
      if (length >= MAX_WINDOW || cut + length >= size) return undefined;
    }
  });
  if (starts.some((s) => s === undefined)) return undefined;
  const bounds = [head.end];
  for (const s of starts as number[]) if (s > (bounds[bounds.length - 1] as number) && s < size) bounds.push(s);
  const ranges = bounds.map((start, i) => ({ start, end: (bounds[i + 1] ?? size) - 1, linesBefore: i === 0 ? head.lines : 0 }));
  return { header, ranges };
}

/**
 * The header record's bytes, where the first data byte is and the physical lines before it, by
 * quote parity from byte 0 (exact: nothing comes before it). Undefined past MAX_WINDOW.
 */
async function readHeader(
  read: (start: number, length: number) => Promise<Buffer>,
  size: number,
  quote: number,
): Promise<{ bytes: Buffer; end: number; lines: number } | undefined> {
  for (let length = WINDOW; ; length *= 4) {
    const buf = await read(0, length);
    const end = headerEnd(buf, quote, buf.length >= size);
    if (end !== undefined) {
      // Its physical lines, counted as the shards count theirs (a quoted name may hold a break).
      const census = new RangeCensus(quote);
      census.count(buf.subarray(0, end));
      return { bytes: buf.subarray(0, end), end, lines: census.totalLines() };
    }
    // The serial split says what is wrong with a header it cannot find either.
    if (length >= MAX_WINDOW || buf.length >= size) return undefined;
  }
}

/** After the first line ending outside quotes (a CR at the buffer's end only if `final`). */
function headerEnd(buf: Buffer, quote: number, final: boolean): number | undefined {
  let quoted = false;
  for (let p = 0; p < buf.length; p++) {
    const c = buf[p];
    if (c === quote) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LF) return p + 1;
    else if (c === CR) {
      if (p + 1 < buf.length) return buf[p + 1] === LF ? p + 2 : p + 1;
      return final ? p + 1 : undefined;
    }
  }
  return undefined;
}

/** fn over items, at most `limit` at once, results in item order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
