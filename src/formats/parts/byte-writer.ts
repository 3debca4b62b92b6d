/**
 * Writes the cells of a part straight into bytes: one Buffer per batch, grown when a cell does
 * not fit, with no per-row strings. Every cell gives the same bytes as its text form in cells.ts
 * (csvText, JSON.stringify, formatNumber) UTF-8 encoded; the common cases (short ASCII text that
 * needs no quoting, float32 scores) are written byte by byte, everything else goes through the
 * text form.
 */
import { csvText, digitsText, formatFloat32ByPrecision, startsLikeFormula } from './cells.js';
import { shortest, shortestFloat32Digits } from './float32-digits.js';

/** Longer text is checked and copied natively rather than char by char. */
const SHORT_TEXT = 64;
/** Room for any number cell this writer produces: toFixed(17) of a value below 1e21 is 40 bytes. */
export const MAX_NUMBER_BYTES = 48;

const QUOTE = 34;
const APOSTROPHE = 39;
const COMMA = 44;
const BACKSLASH = 92;

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 256));
  }

  /** The bytes written; the Buffer is not reused, so it can go to a stream write as it is. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** Bytes known ahead (separators, JSON keys); short, so a loop beats a native copy. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = bytes[i] as number;
    this.pos = p;
  }

  /** Bytes [start, end) of src, as they are (a text cell read from the input, see byte-cells.ts). */
  copy(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n > SHORT_TEXT) {
      this.pos += src.copy(this.buf, this.pos, start, end);
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) buf[p++] = src[i] as number;
    this.pos = p;
  }

  /**
   * csvText of a cell given as UTF-8 bytes, its outcome known (byte-cells.ts): a quote first
   * when it is formula-like, and between quotes with its quotes doubled when it must be quoted.
   */
  csvCell(src: Buffer, start: number, end: number, prefixed: boolean, quoted: boolean): void {
    // Worst case: every byte a quote, doubled, plus "' and ".
    this.ensure(2 * (end - start) + 3);
    const buf = this.buf;
    let p = this.pos;
    if (quoted) buf[p++] = QUOTE;
    if (prefixed) buf[p++] = APOSTROPHE;
    for (let i = start; i < end; i++) {
      const c = src[i] as number;
      buf[p++] = c;
      if (c === QUOTE && quoted) buf[p++] = QUOTE;
    }
    if (quoted) buf[p++] = QUOTE;
    this.pos = p;
  }

  /** Text known to be ASCII (number text). */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  utf8(text: string): void {
    // A UTF-16 code unit is at most 3 UTF-8 bytes; write() would silently cut what does not fit.
    this.ensure(text.length * 3);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  /** csvText(text): short ASCII text with nothing to quote or neutralise is copied as it is. */
  csvText(text: string): void {
    const n = text.length;
    if (n <= SHORT_TEXT && !startsLikeFormula(text.charCodeAt(0))) {
      this.ensure(n);
      const buf = this.buf;
      const p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 128 || c === QUOTE || c === COMMA || c === 10 || c === 13) break;
        buf[p + i] = c;
      }
      if (i === n) {
        this.pos = p + n;
        return;
      }
    }
    this.utf8(csvText(text));
  }

  /** JSON.stringify(text): printable ASCII without " or \ needs no escapes. */
  jsonText(text: string): void {
    const n = text.length;
    if (n <= SHORT_TEXT) {
      this.ensure(n + 2);
      const buf = this.buf;
      const p = this.pos;
      buf[p] = QUOTE;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c < 32 || c > 126 || c === QUOTE || c === BACKSLASH) break;
        buf[p + 1 + i] = c;
      }
      if (i === n) {
        buf[p + 1 + n] = QUOTE;
        this.pos = p + n + 2;
        return;
      }
    }
    this.utf8(JSON.stringify(text));
  }

  /** formatFloat32(v) for a finite v. */
  float32(v: number): void {
    this.ensure(MAX_NUMBER_BYTES);
    if (v === 0) {
      this.buf[this.pos++] = 48;
      return;
    }
    let a = v;
    if (v < 0) {
      this.buf[this.pos++] = 45;
      a = -v;
    }
    if (!shortestFloat32Digits(a)) this.ascii(formatFloat32ByPrecision(a));
    else this.digits(shortest.digits, shortest.count, shortest.point);
  }

  /**
   * v.toFixed(decimals) for a finite float32 v and decimals ≤ MAX_EXACT_DECIMALS, without the
   * string. toFixed takes the integer n nearest to v × 10^decimals (the larger on a tie) and
   * writes it with a point before its last `decimals` digits: for a float32 that product is
   * exact in double arithmetic (24 significant bits × 5^12 < 2^53), so n = ⌊|v| × 10^d + 1/2⌋
   * exactly. n past an int32 (large values, many decimals) goes through toFixed.
   */
  fixedFloat32(v: number, decimals: number): void {
    const y = (v < 0 ? -v : v) * (POW10[decimals] as number);
    if (!(y < 2147483647)) {
      this.ascii(v.toFixed(decimals));
      return;
    }
    this.ensure(MAX_NUMBER_BYTES);
    const buf = this.buf;
    let p = this.pos;
    // toFixed signs every v < 0, -0.001 → "-0.00" too (but not -0).
    if (v < 0) buf[p++] = 45;
    const n = Math.floor(y + 0.5);
    const high = Math.floor(n / (POW10[decimals] as number));
    let digits = 1;
    while (digits < 10 && high >= (POW10[digits] as number)) digits++;
    writeDigits(buf, p + digits - 1, high, digits);
    p += digits;
    if (decimals > 0) {
      buf[p] = 46;
      writeDigits(buf, p + decimals, n - high * (POW10[decimals] as number), decimals);
      p += decimals + 1;
    }
    this.pos = p;
  }

  /** An integer below 2^53 in magnitude, as String() writes it. */
  integer(v: number): void {
    this.ensure(MAX_NUMBER_BYTES);
    let a = v;
    if (v < 0) {
      this.buf[this.pos++] = 45;
      a = -v;
    }
    let count = 1;
    for (let t = a; t >= 10; t = Math.floor(t / 10)) count++;
    this.pos += count;
    // writeDigits takes int32s: nine digits at a time.
    let last = this.pos - 1;
    for (let t = a; count > 0; t = Math.floor(t / 1e9), count -= 9, last -= 9) writeDigits(this.buf, last, t % 1e9, Math.min(count, 9));
  }

  /** digitsText(digits, count, point), for digits below 2^31. */
  private digits(digits: number, count: number, point: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (point >= count && point <= 21) {
      writeDigits(buf, p + count - 1, digits, count);
      p += count;
      for (let i = count; i < point; i++) buf[p++] = 48;
    } else if (point > 0 && point <= 21) {
      // The point falls inside the digits (point < count).
      const fraction = count - point;
      const end = p + count;
      const high = Math.floor(digits / 10 ** fraction);
      writeDigits(buf, end, digits - high * 10 ** fraction, fraction);
      buf[end - fraction] = 46;
      writeDigits(buf, end - fraction - 1, high, point);
      p = end + 1;
    } else if (point > -6 && point <= 0) {
      buf[p++] = 48;
      buf[p++] = 46;
      for (let i = point; i < 0; i++) buf[p++] = 48;
      writeDigits(buf, p + count - 1, digits, count);
      p += count;
    } else {
      this.ascii(digitsText(digits, count, point));
      return;
    }
    this.pos = p;
  }
}

/** Up to this many decimals, fixedFloat32 needs no toFixed. */
export const MAX_EXACT_DECIMALS = 12;

/** 10^k, k = 0..12. */
const POW10 = Float64Array.from({ length: MAX_EXACT_DECIMALS + 1 }, (_, k) => 10 ** k);

/** Writes the `count` lowest decimal digits of 0 ≤ n < 2^31, the last one at `last`. */
function writeDigits(buf: Buffer, last: number, n: number, count: number): void {
  let t = n | 0;
  for (let i = last; i > last - count; i--) {
    // Int32 division by a constant: a multiply and shift, not a divide.
    const q = (t / 10) | 0;
    buf[i] = 48 + t - q * 10;
    t = q;
  }
}
