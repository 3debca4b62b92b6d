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

const LF = 0x0a;
const CR = 0x0d;

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
  let headerLines = 1;
  let headerBytes: Buffer[] = [];
  const cuts: { offset: number; linesBefore: number }[] = [];
  let nextCut = 0;
  // A CR that ends a chunk: a line end unless the next chunk starts with LF (then CRLF ends it).
  let pendingCR = -1;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (headerEnd === -1) headerBytes.push(chunk);
    if (pendingCR !== -1 && chunk.length > 0) {
      if (chunk[0] !== LF) lineEnd(pendingCR);
      pendingCR = -1;
    }
    // Jump between quotes and line ends with native indexOf (no per-byte JS loop). Between two
    // quotes the quote state is constant; a doubled quote toggles twice and changes nothing.
    // Line ends are LF, CRLF and a bare CR, as both readers take them.
    let i = 0;
    let nl = chunk.indexOf(LF);
    let cr = chunk.indexOf(CR);
    while (i < chunk.length) {
      const q = chunk.indexOf(quote, i);
      const stop = q === -1 ? chunk.length : q;
      for (;;) {
        if (nl !== -1 && nl < stop && (cr === -1 || nl < cr)) {
          lineEnd(pos + nl);
          nl = chunk.indexOf(LF, nl + 1);
        } else if (cr !== -1 && cr < stop) {
          const at = cr;
          cr = chunk.indexOf(CR, cr + 1);
          if (at + 1 === chunk.length) pendingCR = pos + at;
          else if (chunk[at + 1] !== LF) lineEnd(pos + at);
        } else break;
      }
      if (q === -1) break;
      inQuote = !inQuote;
      i = q + 1;
    }
    pos += chunk.length;
  }
  if (pendingCR !== -1) lineEnd(pendingCR);
  if (headerEnd === -1) throw new InputError({ object: display }, 'cannot split: no complete header line');
  const header = parseHeader(Buffer.concat(headerBytes).subarray(0, headerEnd), csv, display);
  headerBytes = [];
  const ranges: ByteRangeShard[] = [];
  let start = headerEnd;
  let linesBefore = headerLines;
  for (const c of cuts) {
    if (c.offset <= start || c.offset >= size) continue;
    ranges.push({ start, end: c.offset - 1, linesBefore });
    start = c.offset;
    linesBefore = c.linesBefore;
  }
  if (start < size) ranges.push({ start, end: size - 1, linesBefore });
  return { header, ranges };

  /** The line ending at byte `at` (its last byte); a record boundary unless inside quotes. */
  function lineEnd(at: number): void {
    lines++;
    if (!inQuote) onBoundary(at + 1);
  }

  function onBoundary(offset: number): void {
    if (headerEnd === -1) {
      headerEnd = offset;
      // A quoted header name may hold a line break.
      headerLines = lines;
      nextCut = offset + shardBytes;
    } else if (offset >= nextCut) {
      cuts.push({ offset, linesBefore: lines });
      nextCut = offset + shardBytes;
    }
  }
}

export function parseHeader(bytes: Buffer, csv: CsvOptions, display: string): string[] {
  const rows: string[][] = parseSync(bytes, { bom: true, delimiter: csv.delimiter, quote: csv.quote, encoding: csv.encoding, relax_column_count: true });
  const header = rows[0];
  if (!header) throw new InputError({ object: display, line: 1 }, 'the header line is empty');
  return header;
}
