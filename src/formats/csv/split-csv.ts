/**
 * Splits a large CSV object into byte-range shards at record boundaries, so several workers can
 * score one file at once. One sequential pass tracks quote state (so quoted newlines never split
 * a record) and counts physical lines (so errors files keep exact line numbers). The pass reads
 * bytes at storage speed; it is skipped for objects below the split size.
 */
import { parse as parseSync } from 'csv-parse/sync';
import { InputError } from '../../core/errors.js';
import type { CsvOptions } from '../../spec/job-spec.js';
import type { ObjectStore } from '../../storage/object-store.js';

export interface ByteRangeShard {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
  /** Physical lines before `start`. */
  readonly linesBefore: number;
}

export interface SplitPlan {
  readonly header: string[];
  readonly ranges: ByteRangeShard[];
}

const NL = 0x0a;

export async function splitObject(
  store: ObjectStore,
  key: string,
  display: string,
  size: number,
  csv: CsvOptions,
  shardBytes: number,
  signal?: AbortSignal,
): Promise<SplitPlan> {
  const quote = csv.quote.charCodeAt(0);
  const stream = await store.read(key, signal ? { signal } : {});
  let pos = 0;
  let lines = 0;
  let inQuote = false;
  let headerEnd = -1;
  let headerBytes: Buffer[] = [];
  const cuts: { offset: number; linesBefore: number }[] = [];
  let nextCut = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (headerEnd === -1) headerBytes.push(chunk);
    // Jump between quotes and newlines with native indexOf (no per-byte JS loop). Between two
    // quotes the quote state is constant; a doubled quote toggles twice and changes nothing.
    let i = 0;
    let nl = chunk.indexOf(NL);
    while (i < chunk.length) {
      const q = chunk.indexOf(quote, i);
      const stop = q === -1 ? chunk.length : q;
      while (nl !== -1 && nl < stop) {
        lines++;
        if (!inQuote) onBoundary(pos + nl + 1);
        nl = chunk.indexOf(NL, nl + 1);
      }
      if (q === -1) break;
      inQuote = !inQuote;
      i = q + 1;
    }
    pos += chunk.length;
  }
  if (headerEnd === -1) throw new InputError({ object: display }, 'cannot split: no complete header line');
  const header = parseHeader(Buffer.concat(headerBytes).subarray(0, headerEnd), csv, display);
  headerBytes = [];
  const ranges: ByteRangeShard[] = [];
  let start = headerEnd;
  let linesBefore = 1;
  for (const c of cuts) {
    if (c.offset <= start || c.offset >= size) continue;
    ranges.push({ start, end: c.offset - 1, linesBefore });
    start = c.offset;
    linesBefore = c.linesBefore;
  }
  if (start < size) ranges.push({ start, end: size - 1, linesBefore });
  return { header, ranges };

  function onBoundary(offset: number): void {
    if (headerEnd === -1) {
      headerEnd = offset;
      nextCut = offset + shardBytes;
    } else if (offset >= nextCut) {
      cuts.push({ offset, linesBefore: lines });
      nextCut = offset + shardBytes;
    }
  }
}

function parseHeader(bytes: Buffer, csv: CsvOptions, display: string): string[] {
  const rows: string[][] = parseSync(bytes, { bom: true, delimiter: csv.delimiter, quote: csv.quote, encoding: csv.encoding, relax_column_count: true });
  const header = rows[0];
  if (!header) throw new InputError({ object: display, line: 1 }, 'the header line is empty');
  return header;
}
