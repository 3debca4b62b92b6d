/**
 * A chunk-fed CSV byte scanner for the fast path. It finds records and field boundaries and
 * hands each record to a callback as offsets into a buffer: no string is built unless the
 * consumer asks for one (ids, text columns, rejected rows).
 *
 * It accepts exactly what the general path (csv-reader.ts: csv-parse with our options) accepts
 * and splits it the same way: UTF-8 BOM skipped, record delimiters \r\n, \n and a lone \r,
 * empty lines skipped (a line holding only "" is a record), RFC 4180 quoting with the quote
 * doubled inside quoted fields, no trimming. It reproduces csv-parse where it is odd, too:
 * - a closing quote followed by a NUL byte is accepted and the NUL and what follows are kept in
 *   the field (csv-parse tests `!nextChr`);
 * - limits.maxRecordBytes counts what csv-parse counts: the UTF-16 length of the record's
 *   finished fields plus the bytes of the current one, quotes and delimiters excluded.
 * File-level problems throw InputError with the same messages as the general path.
 *
 * Lines are physical lines (\r\n, \n and a lone \r each end one, also inside quoted fields),
 * counted from options.firstLine. An error names the line where the failing record starts, as
 * the general path does (for an unclosed quote: the record holding the opening quote).
 *
 * Chunks: complete records are scanned in place. A record cut by a chunk boundary is rescanned
 * from its start once more bytes arrive; only that tail is copied, joined with a prefix of the
 * next chunks that grows with it, so a long record costs time linear in its length.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { InputError } from '../../core/errors.js';
import { csvReason, type CsvErrorCode } from './csv-messages.js';

export const FIELD_PLAIN = 0;
/** Quoted field without escaped quotes: [start, end) is the content between the quotes. */
export const FIELD_QUOTED = 1;
/** Quoted field that must be unescaped: [start, end) is the raw field, quotes included. */
export const FIELD_ESCAPED = 2;
/**
 * Plain field in a numeric column (see CsvScanner.parseNumbersInto) that is a decimal in the
 * exact fast range: Number(text) is already in its slot of the batch tensor (a fused column), or
 * in values[i] (any other numeric column). [start, end) is the field, as for FIELD_PLAIN.
 */
export const FIELD_NUMBER = 3;

/** NumberTarget.slots: the field is not parsed while scanning. */
export const NOT_NUMERIC = -1;
/** NumberTarget.slots: the field is parsed while scanning into record.values (not fused). */
export const NUMBER_TO_VALUES = -2;
/**
 * NumberTarget.slots for a fused field whose offsets are needed too (the column is also an id or
 * a passthrough column): keptSlot(slot) ≤ -3 goes into the tensor at `slot` like a fused field,
 * and its start, end and kind are recorded. keptSlot is its own inverse.
 */
export function keptSlot(slot: number): number {
  return -3 - slot;
}

/**
 * Where the scanner puts the numbers it parses (parseNumbersInto). A fused column's value goes
 * straight into the batch tensor at `array[base + slot]`: the batch builder owns the target and
 * moves `base` to the next row when it accepts one (a rejected row's values are overwritten by
 * the next record) and `array` to a new tensor when it hands a batch over.
 *
 * A fused field (slot ≥ 0) that the scanner parsed leaves no start, end or kind in the record:
 * the value is all the batch needs, and skipping three stores per float cell is most of what
 * separates the scanner from the physical ceiling. ScannedRecord.complete() records them.
 */
export interface NumberTarget {
  /**
   * Per field index: its slot within a row of `array` (≥ 0), keptSlot(slot), NUMBER_TO_VALUES
   * or NOT_NUMERIC.
   */
  readonly slots: Int32Array;
  array: Float32Array | Float64Array;
  base: number;
}
/**
 * csv.relaxQuotes only: a quoted field whose closing quote is followed by more text. csv-parse
 * (relax_quotes) keeps it as written, with the quoted part unescaped: `"a""b"c` → `"a"b"c`.
 * [start, end) is the raw field.
 */
export const FIELD_RELAXED = 4;

/** Whether a field of this kind must be unescaped (text(), contentInto()) rather than copied. */
export function isEscapedKind(kind: number | undefined): boolean {
  return kind === FIELD_ESCAPED || kind === FIELD_RELAXED;
}

/**
 * One record, valid only during the callback (the scanner reuses it and its buffer moves on).
 * starts, ends and kinds hold every field except the fused ones the scanner parsed (see
 * NumberTarget), whose slots are stale until complete() is called.
 */
export interface ScannedRecord {
  readonly buf: Buffer;
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** FIELD_PLAIN, FIELD_QUOTED, FIELD_ESCAPED, FIELD_NUMBER or FIELD_RELAXED per field. */
  readonly kinds: Uint8Array;
  /** Number(text) of each FIELD_NUMBER field that is not fused; other slots hold stale values. */
  readonly values: Float64Array;
  /** How many fields of this record were parsed straight into the batch tensor (fused). */
  readonly fused: number;
  /** 1-based physical line where the record starts. */
  readonly line: number;
  /** The record's raw bytes [start, end), without its line ending. */
  readonly start: number;
  readonly end: number;
  /**
   * True when the record is known to be all ASCII (the whole buffer it lies in is), so it can
   * hold no invalid UTF-8; false means "not known", not "not ASCII".
   */
  readonly ascii: boolean;
  /**
   * True when the whole buffer is valid UTF-8 (always when ascii): then no record in it can
   * hold an invalid cell, and per-record checks are skipped.
   */
  readonly cleanUtf8: boolean;
  /** Field i as text (UTF-8, unescaped). */
  text(i: number): string;
  /** The record as it appeared in the file, without its line ending. */
  rawText(): string;
  /**
   * Records start, end and kind of every field, fused ones included (as FIELD_PLAIN: no field
   * is FIELD_NUMBER afterwards, and values are stale). Rescans the record: for the rare rows
   * that need more than the values (a declined cell, bytes that are not UTF-8).
   */
  complete(): void;
  /**
   * Writes field i's content bytes (unescaped) to out at `at`, which must have room for the
   * field's raw length; returns where they end.
   */
  contentInto(i: number, out: Uint8Array, at: number): number;
}

export interface ScannerOptions {
  /** Object name for error messages. */
  readonly object: string;
  /** One ASCII byte each (see fastPathApplies). */
  readonly delimiter: string;
  readonly quote: string;
  readonly maxRecordBytes: number;
  /**
   * csv.relaxQuotes: a quote inside an unquoted field is text, and a closing quote followed by
   * more text reopens nothing (FIELD_RELAXED), as csv-parse's relax_quotes.
   */
  readonly relaxQuotes?: boolean;
  /** Line number of the first byte: 1, or linesBefore + 1 for a byte-range shard. */
  readonly firstLine?: number;
}

const LF = 0x0a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
/** Exact powers of ten as doubles (10^22 is the largest exact one); see parse-float.ts. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** Below 10^15 the mantissa has at most 15 significant digits and is an exact double. */
const MAX_EXACT_MANTISSA = 1e15;
const CR = 0x0d;
const NUL = 0x00;
/** Returned by scanRecord when the record (or its lookahead byte) is not in the buffer yet. */
const NEED_MORE = -1;
/** Smallest prefix of the next chunk joined to a cut record: most records fit in it. */
const MIN_JOIN = 4096;

// The general path's wording (csv-reader.ts), so both paths fail a shard with the same message.

/** True when csv-parse would read the input as UTF-16LE (its BOM): only the general path can. */
export function needsGeneralPath(head: Buffer): boolean {
  return head.length >= 3 && head[0] === 0xff && head[1] === 0xfe;
}

class RecordSlot implements ScannedRecord {
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  kinds = new Uint8Array(64);
  values = new Float64Array(64);
  fused = 0;
  line = 0;
  start = 0;
  end = 0;
  ascii = false;
  cleanUtf8 = false;

  constructor(
    private readonly quote: number,
    private readonly rescan: (record: RecordSlot) => void,
  ) {}

  complete(): void {
    this.rescan(this);
  }

  text(i: number): string {
    const s = this.starts[i] as number;
    const e = this.ends[i] as number;
    const kind = this.kinds[i];
    if (!isEscapedKind(kind)) return this.buf.toString('utf8', s, e);
    return unescapeField(this.buf, s, e, this.quote, kind === FIELD_RELAXED).toString('utf8');
  }

  rawText(): string {
    return this.buf.toString('utf8', this.start, this.end);
  }

  contentInto(i: number, out: Uint8Array, at: number): number {
    const s = this.starts[i] as number;
    const e = this.ends[i] as number;
    const kind = this.kinds[i];
    if (isEscapedKind(kind)) return unescapeInto(this.buf, s, e, this.quote, kind === FIELD_RELAXED, out, at);
    out.set(this.buf.subarray(s, e), at);
    return at + e - s;
  }

  /**
   * Doubles the field slots until field n fits (records with many fields are rare; they keep the
   * bigger slots).
   */
  grow(n0: number): this {
    let n = this.starts.length * 2;
    while (n <= n0) n *= 2;
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    const kinds = new Uint8Array(n);
    const values = new Float64Array(n);
    starts.set(this.starts);
    ends.set(this.ends);
    kinds.set(this.kinds);
    values.set(this.values);
    this.starts = starts;
    this.ends = ends;
    this.kinds = kinds;
    this.values = values;
    return this;
  }
}

export class CsvScanner {
  private readonly delimiter: number;
  private readonly quote: number;
  private readonly relaxQuotes: boolean;
  /** 1 for bytes that end an unquoted field (delimiter, quote unless relaxQuotes, CR, LF), else 0. */
  private readonly stops = new Uint8Array(256);
  private readonly record: RecordSlot;
  /** Where numbers parsed while scanning go (parseNumbersInto); no slots: none are. */
  private readonly plainTarget: NumberTarget = { slots: new Int32Array(0), array: new Float64Array(0), base: 0 };
  private target: NumberTarget = this.plainTarget;
  /** True while complete() rescans a record: the callback is not called again. */
  private rescanning = false;
  /** Physical line of the next record's first byte (of the current one, while it is scanned). */
  private line: number;
  private bomChecked = false;
  /** Bytes from the start of a cut record (or of the file, before the BOM check). */
  private tail: Buffer | undefined;
  /** Chunks received while the tail waits for enough bytes to be rescanned. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Cut records longer than this are audited for maxRecordBytes; doubles each time. */
  private auditAt: number;
  private ended = false;
  // Side outputs of scanQuoted, kept in fields so the hot path allocates nothing.
  private quotedBreaks = 0;
  private quotedEscaped = false;

  constructor(
    private readonly options: ScannerOptions,
    private readonly onRecord: (record: ScannedRecord) => void,
  ) {
    this.delimiter = asciiByte(options.delimiter, 'delimiter');
    this.quote = asciiByte(options.quote, 'quote');
    if (this.quote === this.delimiter) throw new RangeError('CsvScanner: the quote and the delimiter must differ');
    this.relaxQuotes = options.relaxQuotes === true;
    // relaxQuotes: a quote does not stop an unquoted field (a field only opens quoted at its start).
    for (const b of [this.delimiter, CR, LF]) this.stops[b] = 1;
    if (!this.relaxQuotes) this.stops[this.quote] = 1;
    this.record = new RecordSlot(this.quote, (r) => this.rescan(r));
    this.auditAt = options.maxRecordBytes + 1;
    this.line = options.firstLine ?? 1;
  }

  /**
   * From the next record on, plain fields with a slot in `target` are also parsed as decimals
   * while they are scanned (FIELD_NUMBER) when they are in the exact fast range of
   * parse-float.ts, and the value is written to the batch tensor (slot ≥ 0) or record.values;
   * others stay FIELD_PLAIN for the caller to judge. Parsing in the same pass as the scan reads
   * each byte once, and writing to the tensor spares the builder a second pass over the fields:
   * this is the fast path's hot loop.
   */
  parseNumbersInto(target: NumberTarget): void {
    this.target = target;
  }

  push(chunk: Buffer): void {
    if (this.ended) throw new Error('CsvScanner.push after end()');
    if (chunk.length === 0) return;
    if (this.tail === undefined) {
      this.scanChunk(chunk, 0);
      return;
    }
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    // Rescanning the tail costs its length: wait until the new bytes are worth as much.
    if (this.waitingBytes >= Math.max(MIN_JOIN, this.tail.length)) this.joinWaiting();
  }

  /** Flushes the last record; throws if the input ends inside a quoted field. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const parts = this.tail === undefined ? this.waiting : [this.tail, ...this.waiting];
    this.tail = undefined;
    this.waiting = [];
    if (parts.length > 0) this.scan(Buffer.concat(parts), true);
  }

  /** Scans buf from `from` in place; keeps a copy of the cut record at its end, if any. */
  private scanChunk(buf: Buffer, from: number): void {
    const stop = this.scan(from === 0 ? buf : buf.subarray(from), false);
    const rest = buf.length - from - stop;
    if (rest > 0) this.keepTail(Buffer.from(buf.subarray(from + stop)));
  }

  /** Joins the tail with enough waiting bytes, scans that, and goes on in place in the last chunk. */
  private joinWaiting(): void {
    const tail = this.tail as Buffer;
    const last = this.waiting[this.waiting.length - 1] as Buffer;
    const before = this.waitingBytes - last.length;
    // Take all earlier chunks and only as much of the last one as the doubling needs.
    const fromLast = Math.min(last.length, Math.max(0, Math.max(MIN_JOIN, tail.length) - before));
    const joined = Buffer.concat([tail, ...this.waiting.slice(0, -1), last.subarray(0, fromLast)]);
    this.tail = undefined;
    this.waiting = [];
    this.waitingBytes = 0;
    const stop = this.scan(joined, false);
    // The tail started at a record (or an empty line): moving past it ends that record.
    if (stop > 0) this.auditAt = this.options.maxRecordBytes + 1;
    const lastStart = joined.length - fromLast;
    if (stop >= lastStart) {
      this.scanChunk(last, stop - lastStart);
      return;
    }
    // Still cut: the record goes on past what was joined.
    this.keepTail(joined.subarray(stop));
    if (fromLast < last.length) this.push(last.subarray(fromLast));
  }

  private keepTail(tail: Buffer): void {
    this.tail = tail;
    if (tail.length >= this.auditAt) {
      this.auditPartial(tail);
      this.auditAt = tail.length * 2;
    }
  }

  /** Scans records in buf; returns where the first incomplete one starts (buf.length if none). */
  private scan(buf: Buffer, final: boolean): number {
    let pos = 0;
    if (!this.bomChecked) {
      if (buf.length < 3 && !final) return 0;
      this.bomChecked = true;
      if (needsGeneralPath(buf)) throw new Error('UTF-16 input must go to the general CSV path (see needsGeneralPath)');
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    const end = buf.length;
    // One native pass per buffer spares a per-record check in the (nearly always ASCII) common case.
    this.record.ascii = isAscii(buf);
    // A buffer cut inside a multi-byte character is not clean: its records are checked one by one.
    this.record.cleanUtf8 = this.record.ascii || isUtf8(buf);
    while (pos < end) {
      const c = buf[pos];
      if (c === LF || c === CR) {
        // An empty line: skipped, but it is a line.
        if (c === CR && pos + 1 >= end && !final) return pos;
        pos += c === CR && buf[pos + 1] === LF ? 2 : 1;
        this.line++;
        continue;
      }
      const next = this.scanRecord(buf, pos, end, final);
      if (next === NEED_MORE) return pos;
      pos = next;
    }
    return pos;
  }

  /**
   * Scans the record starting at recStart, hands it to the callback, and returns the position
   * after its line ending; NEED_MORE when the buffer ends before that is known.
   */
  private scanRecord(buf: Buffer, recStart: number, end: number, final: boolean): number {
    const { delimiter, quote, stops, record, target } = this;
    const recLine = this.line;
    let { starts, ends, kinds, values } = record; // locals: the hot loop stores through them
    const { slots, array, base } = target;
    const numericFields = slots.length;
    let fused = 0;
    let pos = recStart;
    let n = 0;
    let breaks = 0; // line breaks inside quoted fields so far
    for (;;) {
      const slot = n < numericFields ? (slots[n] as number) : NOT_NUMERIC;
      field: {
        if (slot >= 0) {
          // A fused float cell, the hot path: [-]digits[.digits] parsed (inline parseDecimalFast,
          // see parse-float.ts for why it is exact) straight into the tensor, and no offsets
          // recorded. Declined (no digits, 16+ significant digits, more to the field): scanned
          // again below from its start, as any field.
          const negative = buf[pos] === MINUS;
          let i = negative ? pos + 1 : pos;
          const first = i;
          let mantissa = 0;
          let d = 0;
          while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
            mantissa = mantissa * 10 + d;
            i++;
          }
          const intDigits = i - first;
          let scale = 0;
          if (i < end && buf[i] === DOT) {
            const fraction = ++i;
            while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
              mantissa = mantissa * 10 + d;
              i++;
            }
            scale = i - fraction;
          }
          if (intDigits + scale > 0 && mantissa < MAX_EXACT_MANTISSA && scale <= 22) {
            const c = i < end ? (buf[i] as number) : -1;
            if (c === delimiter || c === LF || c === CR || c === -1) {
              const v = mantissa / (POW10[scale] as number);
              array[base + slot] = negative ? -v : v;
              fused++;
              if (c === delimiter) {
                n++;
                pos = i + 1;
                continue;
              }
              pos = i;
              break field;
            }
          }
        }
        if (n >= starts.length) ({ starts, ends, kinds, values } = record.grow(n));
        if (pos < end && buf[pos] === quote) {
          pos = this.scanQuotedField(buf, recStart, pos, end, final, n);
          if (pos === NEED_MORE) return NEED_MORE;
          breaks += this.quotedBreaks;
          break field;
        }
        starts[n] = pos;
        let kind = FIELD_PLAIN;
        if (slot < NOT_NUMERIC) {
          // A number for record.values (NUMBER_TO_VALUES), or a fused cell whose offsets are
          // kept (keptSlot): the same inline parse, offsets recorded.
          const negative = buf[pos] === MINUS;
          let i = negative ? pos + 1 : pos;
          const first = i;
          let mantissa = 0;
          let d = 0;
          while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
            mantissa = mantissa * 10 + d;
            i++;
          }
          const intDigits = i - first;
          let scale = 0;
          if (i < end && buf[i] === DOT) {
            const fraction = ++i;
            while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
              mantissa = mantissa * 10 + d;
              i++;
            }
            scale = i - fraction;
          }
          // Declined (left FIELD_PLAIN): no digits, 16+ significant digits, more to the field.
          pos = i;
          if (intDigits + scale > 0 && mantissa < MAX_EXACT_MANTISSA && scale <= 22 && (i >= end || stops[buf[i] as number] === 1)) {
            const v = mantissa / (POW10[scale] as number);
            if (slot === NUMBER_TO_VALUES) values[n] = negative ? -v : v;
            else {
              array[base + keptSlot(slot)] = negative ? -v : v;
              fused++;
            }
            kind = FIELD_NUMBER;
          }
        }
        // A number stopped on a stop byte already; anything else runs on to the next one.
        if (kind === FIELD_PLAIN) while (pos < end && stops[buf[pos] as number] === 0) pos++;
        if (pos < end && buf[pos] === quote) this.fail('INVALID_OPENING_QUOTE', buf, recStart, pos);
        ends[n] = pos;
        kinds[n] = kind;
      }
      n++;
      // pos is now on a delimiter, a line ending, or the end of the buffer.
      if (pos >= end) {
        if (!final) return NEED_MORE;
        record.fused = fused;
        this.emit(buf, recStart, end, n, recLine);
        return end;
      }
      const sep = buf[pos];
      if (sep === delimiter) {
        pos++;
        continue;
      }
      if (sep === CR && pos + 1 >= end && !final) return NEED_MORE; // \r\n or a lone \r?
      record.fused = fused;
      this.emit(buf, recStart, pos, n, recLine);
      this.line = recLine + breaks + 1;
      return sep === CR && buf[pos + 1] === LF ? pos + 2 : pos + 1;
    }
  }

  /**
   * ScannedRecord.complete(): the record scanned again with no number parsed, so that every field
   * is recorded. It scanned cleanly once, so it does again, to the same fields; only the
   * callback is skipped, and what the scan moves on (line, fused) is put back.
   */
  private rescan(r: RecordSlot): void {
    const { target, line } = this;
    const fused = r.fused;
    this.target = this.plainTarget;
    this.rescanning = true;
    try {
      this.scanRecord(r.buf, r.start, r.end, true);
    } finally {
      this.target = target;
      this.line = line;
      this.rescanning = false;
      r.fused = fused;
    }
  }

  /**
   * Scans the quoted field opening at `open` into slot n; returns the position after it (on a
   * delimiter, line ending or the end) or NEED_MORE. Sets quotedBreaks.
   */
  private scanQuotedField(buf: Buffer, recStart: number, open: number, end: number, final: boolean, n: number): number {
    const close = this.scanQuoted(buf, open, end, final);
    if (close === NEED_MORE) {
      if (final) this.fail('CSV_QUOTE_NOT_CLOSED', buf, recStart, end);
      return NEED_MORE;
    }
    const record = this.record;
    const after = close + 1;
    const next = after < end ? buf[after] : undefined;
    if (next === undefined || next === this.delimiter || next === CR || next === LF) {
      record.starts[n] = this.quotedEscaped ? open : open + 1;
      record.ends[n] = this.quotedEscaped ? after : close;
      record.kinds[n] = this.quotedEscaped ? FIELD_ESCAPED : FIELD_QUOTED;
      return after;
    }
    if (next !== NUL && !this.relaxQuotes) this.fail('CSV_INVALID_CLOSING_QUOTE', buf, recStart, close);
    // csv-parse quirk: NUL after a closing quote counts as a valid end, then joins the field.
    // relaxQuotes: other text after it joins the field too (FIELD_RELAXED).
    let pos = after;
    while (pos < end && this.stops[buf[pos] as number] === 0) pos++;
    if (pos < end && buf[pos] === this.quote) this.fail('INVALID_OPENING_QUOTE', buf, recStart, pos);
    if (pos >= end && !final) return NEED_MORE;
    record.starts[n] = open;
    record.ends[n] = pos;
    record.kinds[n] = next === NUL ? FIELD_ESCAPED : FIELD_RELAXED;
    return pos;
  }

  /**
   * Finds the closing quote of the quoted field opening at `open`; NEED_MORE if not in buf.
   * Sets quotedBreaks (line breaks inside) and quotedEscaped (doubled quotes seen).
   */
  private scanQuoted(buf: Buffer, open: number, end: number, final: boolean): number {
    const quote = this.quote;
    let breaks = 0;
    let escaped = false;
    let pos = open + 1;
    for (; pos < end; pos++) {
      const c = buf[pos];
      if (c === quote) {
        if (pos + 1 >= end) {
          if (final) break; // a quote at the end of input closes
          return NEED_MORE; // closing, or the first of a doubled quote?
        }
        if (buf[pos + 1] !== quote) break;
        escaped = true;
        pos++;
      } else if (c === LF) {
        breaks++;
      } else if (c === CR) {
        if (pos + 1 >= end && !final) return NEED_MORE; // \r\n is one break, not two
        if (buf[pos + 1] !== LF) breaks++;
      }
    }
    if (pos >= end) return NEED_MORE;
    this.quotedBreaks = breaks;
    this.quotedEscaped = escaped;
    return pos;
  }

  private emit(buf: Buffer, start: number, end: number, count: number, line: number): void {
    if (end - start > this.options.maxRecordBytes + 1) this.auditRange(buf, start, end, true);
    const r = this.record;
    r.buf = buf;
    r.count = count;
    r.line = line;
    r.start = start;
    r.end = end;
    if (!this.rescanning) this.onRecord(r);
  }

  /**
   * Throws `code` for the record being scanned, unless csv-parse would have stopped earlier in it
   * on the record size. (While a record is scanned, this.line is still its first line.)
   */
  private fail(code: CsvErrorCode, buf: Buffer, recStart: number, at: number): never {
    if (at - recStart > this.options.maxRecordBytes + 1) this.auditRange(buf, recStart, at, true);
    throw csvError(this.options.object, code, this.line);
  }

  /**
   * A cut record that is already too long fails now, not when it ends, so a runaway quote
   * cannot make the tail grow without bound. (A long tail always starts with a record: the
   * other tails are the first bytes before the BOM check and a lone \r, both shorter.)
   */
  private auditPartial(tail: Buffer): void {
    this.auditRange(tail, 0, tail.length, false);
  }

  private auditRange(buf: Buffer, start: number, end: number, complete: boolean): void {
    if (isOversize(buf, start, end, complete, this.delimiter, this.quote, this.relaxQuotes, this.options.maxRecordBytes)) {
      throw csvError(this.options.object, 'CSV_MAX_RECORD_SIZE', this.line);
    }
  }
}

function csvError(object: string, code: CsvErrorCode, line: number): InputError {
  return new InputError({ object, line }, csvReason(code, code));
}

function asciiByte(char: string, what: string): number {
  const code = char.charCodeAt(0);
  if (char.length !== 1 || code >= 0x80 || code === CR || code === LF || code === NUL) {
    throw new RangeError(`CsvScanner: the ${what} must be one ASCII character other than CR, LF and NUL; received ${JSON.stringify(char)}`);
  }
  return code;
}

/**
 * The content bytes of a quoted raw field: quotes removed, doubled quotes halved. `relaxed`
 * (FIELD_RELAXED): the enclosing quotes are kept, as csv-parse keeps them.
 */
function unescapeField(buf: Buffer, start: number, end: number, quote: number, relaxed: boolean): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  return out.subarray(0, unescapeInto(buf, start, end, quote, relaxed, out, 0));
}

/** Writes the content of the quoted raw field [start, end) to out at `at`; returns where it ends. */
function unescapeInto(buf: Buffer, start: number, end: number, quote: number, relaxed: boolean, out: Uint8Array, at: number): number {
  let n = at;
  if (relaxed) out[n++] = quote;
  let pos = start + 1;
  for (; pos < end; pos++) {
    const c = buf[pos] as number;
    if (c === quote) {
      if (buf[pos + 1] !== quote || pos + 1 >= end) break;
      pos++;
    }
    out[n++] = c;
  }
  if (relaxed && pos < end) out[n++] = quote;
  // After the closing quote: the NUL-quirk (or relaxed) bytes, kept as they are.
  for (pos++; pos < end; pos++) out[n++] = buf[pos] as number;
  return n;
}

/**
 * Whether csv-parse stops with CSV_MAX_RECORD_SIZE in the record [start, end): before appending
 * each content byte it tests (UTF-16 length of finished fields + bytes of this field) > max.
 * Slow and exact: it only runs on records over max + 1 raw bytes, the only ones that can trip
 * it (UTF-16 length ≤ bytes). `complete`: [start, end) is the whole record (or all of it that
 * csv-parse reads before another error); otherwise a quote at the very end is left undecided.
 */
function isOversize(buf: Buffer, start: number, end: number, complete: boolean, delimiter: number, quote: number, relaxQuotes: boolean, max: number): boolean {
  const content = Buffer.allocUnsafe(end - start);
  let units = 0; // UTF-16 length of the finished fields
  let n = 0; // content bytes of the current field
  let quoted = false;
  let fieldStart = true;
  for (let pos = start; pos < end; pos++) {
    const c = buf[pos] as number;
    if (quoted) {
      if (c === quote) {
        if (pos + 1 >= end && !complete) return false;
        if (buf[pos + 1] !== quote || pos + 1 >= end) {
          quoted = false; // closing quote: not content
          const next = buf[pos + 1];
          if (relaxQuotes && pos + 1 < end && next !== delimiter && next !== CR && next !== LF && next !== NUL) {
            // FIELD_RELAXED: csv-parse keeps both quotes in the field.
            if (units + n > max) return true;
            content[n++] = quote;
            content[n++] = quote;
          }
          continue;
        }
        pos++; // the first of a doubled quote is not content; the second is
      }
    } else if (c === delimiter || c === CR || c === LF) {
      if (c !== delimiter) return false; // end of the record
      units += content.toString('utf8', 0, n).length;
      n = 0;
      fieldStart = true;
      continue;
    } else if (c === quote && fieldStart) {
      quoted = true;
      fieldStart = false;
      continue;
    }
    fieldStart = false;
    if (units + n > max) return true;
    content[n++] = buf[pos] as number;
  }
  return false;
}
