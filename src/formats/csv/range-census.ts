/**
 * Counts what a shard of a speculatively split object must report about its bytes (RangeCensus
 * in core/types.ts): physical line endings and the parity of quote bytes. Both add up over
 * consecutive ranges whatever the quote state at their starts, which is what lets finalize check
 * the plan's guesses and number lines without anyone reading the object serially.
 *
 * It sits on the shard's input stream, so the count costs a few native indexOf scans per chunk
 * on the shard's own thread, spread over every shard instead of one serial pass at plan time.
 */
import { Readable } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;

export class RangeCensus {
  /** Bytes counted so far (from the range's start). */
  bytes = 0;
  lines = 0;
  oddQuotes = false;
  /** The last byte counted was a CR: a line ending unless the next byte is LF. */
  private pendingCR = false;

  constructor(private readonly quote: number) {}

  /** The stream's bytes unchanged, counted as they pass. */
  through(source: AsyncIterable<Buffer>): Readable {
    return Readable.from(this.counted(source), { objectMode: false });
  }

  private async *counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.count(chunk);
      yield chunk;
    }
  }

  count(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    let quotes = 0;
    for (let q = chunk.indexOf(this.quote); q !== -1; q = chunk.indexOf(this.quote, q + 1)) quotes++;
    if (quotes % 2 === 1) this.oddQuotes = !this.oddQuotes;
    let lines = 0;
    for (let p = chunk.indexOf(LF); p !== -1; p = chunk.indexOf(LF, p + 1)) lines++;
    // A CR ends a line unless an LF follows (then the LF counted it), also across chunks.
    if (this.pendingCR && chunk[0] !== LF) lines++;
    for (let p = chunk.indexOf(CR); p !== -1; p = chunk.indexOf(CR, p + 1)) if (p + 1 < chunk.length && chunk[p + 1] !== LF) lines++;
    this.pendingCR = chunk[chunk.length - 1] === CR;
    this.lines += lines;
  }

  /** Line endings counted, the range's last byte included (a final CR ends a line). */
  totalLines(): number {
    return this.lines + (this.pendingCR ? 1 : 0);
  }
}
