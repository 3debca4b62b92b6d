/**
 * Where the general CSV path meets bytes that are not valid UTF-8.
 *
 * csv-parse decodes fields to strings, and a string cannot tell a U+FFFD written in the file
 * (bytes EF BF BD, valid) from one the decoder put in place of bad bytes. So the bytes are
 * watched on their way into the parser: a pass-through stream notes the offsets of invalid
 * sequences (a native isUtf8 per chunk; the exact offsets only for a chunk that fails it) and
 * keeps the chunks the parser has not finished with (it runs at most a chunk or two ahead). A record whose byte range holds an invalid
 * sequence (rare) is split again from its own bytes to learn which fields hold them.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

export class InvalidBytesWatch {
  /** Absolute offsets [start, end) of invalid sequences not yet passed by the parser. */
  private spans: number[] = [];
  /** Chunks from `keptFrom` on, while a span may need their bytes. */
  private kept: Buffer[] = [];
  private keptFrom = 0;
  private offset = 0;
  /** The last bytes of the previous chunk when they may start a character cut by the boundary. */
  private carry: Buffer = Buffer.alloc(0);
  private first = true;
  /** The input starts with a UTF-16LE BOM: csv-parse decodes UTF-16, not UTF-8. */
  utf16 = false;

  /** The stream to put between the input and csv-parse. */
  stream(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) => {
        this.see(chunk);
        done(null, chunk);
      },
      flush: (done: TransformCallback) => {
        if (this.carry.length > 0) this.markInvalid(this.offset - this.carry.length, this.carry);
        this.carry = Buffer.alloc(0);
        done();
      },
    });
  }

  /** Whether [start, end) holds an invalid byte; forgets what lies before `start`. */
  holdsInvalid(start: number, end: number): boolean {
    let drop = 0;
    while (drop < this.spans.length && (this.spans[drop + 1] as number) <= start) drop += 2;
    if (drop > 0) this.spans = this.spans.slice(drop);
    this.release(start);
    return this.spans.length > 0 && (this.spans[0] as number) < end;
  }

  /** The bytes [start, end), which must not have been released. */
  bytes(start: number, end: number): Buffer {
    const all = Buffer.concat(this.kept);
    return all.subarray(start - this.keptFrom, end - this.keptFrom);
  }

  private see(chunk: Buffer): void {
    if (this.first) {
      this.first = false;
      this.utf16 = chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe;
    }
    const start = this.offset;
    this.offset += chunk.length;
    if (this.utf16) return;
    this.kept.push(chunk);
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const dataStart = start - this.carry.length;
    const cut = incompleteTail(data);
    const body = data.subarray(0, data.length - cut);
    this.carry = Buffer.from(data.subarray(data.length - cut));
    if (!isUtf8(body)) this.markInvalid(dataStart, body);
  }

  /** Drops the chunks that end before `before` (the parser is past them). */
  private release(before: number): void {
    while (this.kept.length > 0 && this.keptFrom + (this.kept[0] as Buffer).length <= before) {
      this.keptFrom += (this.kept.shift() as Buffer).length;
    }
  }

  private markInvalid(at: number, bytes: Buffer): void {
    for (let i = 0; i < bytes.length;) {
      const n = validSequenceLength(bytes, i);
      if (n > 0) {
        i += n;
        continue;
      }
      this.spans.push(at + i, at + i + 1);
      i++;
    }
  }
}

/** Bytes at the end of `data` that start a multi-byte character not complete in it (0..3). */
function incompleteTail(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const b = data[data.length - back] as number;
    if (b < 0x80) return 0;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? back : 0;
    }
  }
  return 0;
}

/** Length of the valid UTF-8 sequence at i, 0 when the byte there does not start one. */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-16 input: a field that is not valid UTF-16 decodes with a lone surrogate. */
export function holdsLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
