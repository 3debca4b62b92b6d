/**
 * Text cells (ids, passthrough) kept as the bytes they were read as, on the fast CSV path. A
 * CSV part is UTF-8 like the input, so most cells can be copied from input to output without
 * ever becoming strings; the strings are only made when something asks for them (JSON Lines,
 * a cell the CSV writer must quote or neutralise, tests).
 *
 * Exactness: a cell reaches a batch only after the invalid_utf8 rule accepted its row, so its
 * bytes are valid UTF-8 and decoding then encoding them gives the same bytes back.
 */
import type { ByteCells, ColumnarBatch } from '../core/types.js';
import { CSV_AS_IS, CSV_DECODE, CSV_QUOTED } from '../formats/cells.js';
import { FIELD_ESCAPED, FIELD_NUMBER, FIELD_PLAIN, type ScannedRecord } from '../formats/fast-csv/scanner.js';

/** Bytes that make csvText change a cell when they start it (a formula: = + - @ tab CR). */
const FORMULA_START = new Uint8Array(256);
for (const c of [0x3d, 0x2b, 0x2d, 0x40, 0x09, 0x0d]) FORMULA_START[c] = 1;
/** Cells shorter than this are copied byte by byte: cheaper than a native call. */
const SHORT_CELL = 48;


/** Collects one column's cells for one batch. */
export class ByteCellsBuilder {
  private bytes: Buffer;
  private offsets: Int32Array;
  private verbatim: Uint8Array;
  private rows = 0;
  private used = 0;

  /** `commaDelimited`: the input's delimiter is the CSV part's (a comma). */
  constructor(
    capacityRows: number,
    private readonly commaDelimited: boolean,
  ) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, capacityRows * 16));
    this.offsets = new Int32Array(capacityRows + 1);
    this.verbatim = new Uint8Array(capacityRows);
  }

  /** Appends field i of the record. */
  append(rec: ScannedRecord, i: number): void {
    const kind = rec.kinds[i];
    if (kind === FIELD_ESCAPED) {
      // Doubled quotes: the unescaped text, which the CSV writer quotes again.
      this.appendText(rec.text(i));
      return;
    }
    const src = rec.buf;
    const start = rec.starts[i] as number;
    const end = rec.ends[i] as number;
    const n = end - start;
    this.reserve(n);
    const out = this.bytes;
    let at = this.used;
    // csvText leaves a cell alone unless it starts like a formula or holds " , CR or LF; a plain
    // field of a comma-delimited file holds none of those four (the scanner stopped on them).
    let mode = n > 0 && FORMULA_START[src[start] as number] === 1 ? CSV_DECODE : CSV_AS_IS;
    const known = mode === CSV_DECODE || ((kind === FIELD_PLAIN || kind === FIELD_NUMBER) && this.commaDelimited);
    if (n >= SHORT_CELL) {
      at += src.copy(out, at, start, end);
      if (!known) mode = csvMode(src, start, end);
    } else if (known) {
      for (let p = start; p < end; p++) out[at++] = src[p] as number;
    } else {
      for (let p = start; p < end; p++) {
        const c = src[p] as number;
        out[at++] = c;
        if (NEEDS_QUOTES[c] === 1) mode = c === QUOTE ? CSV_DECODE : mode === CSV_DECODE ? CSV_DECODE : CSV_QUOTED;
      }
    }
    this.used = at;
    this.finishCell(mode);
  }

  /** Appends a cell given as text (never copied verbatim: the writer applies csvText). */
  appendText(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.used += this.bytes.write(text, this.used, 'utf8');
    this.finishCell(CSV_DECODE);
  }

  finish(): ByteCells {
    return { bytes: this.bytes.subarray(0, this.used), offsets: this.offsets.subarray(0, this.rows + 1), verbatim: this.verbatim.subarray(0, this.rows) };
  }

  private finishCell(mode: number): void {
    if (this.rows === this.verbatim.length) this.growRows();
    this.verbatim[this.rows] = mode;
    this.offsets[++this.rows] = this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n));
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }

  private growRows(): void {
    const offsets = new Int32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    const verbatim = new Uint8Array(this.verbatim.length * 2);
    verbatim.set(this.verbatim);
    this.offsets = offsets;
    this.verbatim = verbatim;
  }
}

const QUOTE = 0x22;
/** Bytes that make csvQuote quote a cell: " , CR LF. */
const NEEDS_QUOTES = new Uint8Array(256);
for (const c of [QUOTE, 0x2c, 0x0d, 0x0a]) NEEDS_QUOTES[c] = 1;

/** CSV_AS_IS, CSV_QUOTED (a comma, CR or LF) or CSV_DECODE (a quote, which must be doubled). */
function csvMode(src: Buffer, start: number, end: number): number {
  let mode = CSV_AS_IS;
  for (let p = start; p < end; p++) {
    const c = src[p] as number;
    if (c === QUOTE) return CSV_DECODE;
    if (NEEDS_QUOTES[c] === 1) mode = CSV_QUOTED;
  }
  return mode;
}

/** The cells as strings. */
export function decodeCells(cells: ByteCells): string[] {
  const { bytes, offsets } = cells;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(offsets.length - 1);
  for (let r = 0; r < out.length; r++) out[r] = buf.toString('utf8', offsets[r], offsets[r + 1]);
  return out;
}

/**
 * A batch whose ids and passthrough columns are byte cells: `ids` and `passthrough` decode them
 * on first use (the CSV writer reads `textBytes` and may never ask).
 */
export function withByteText(
  b: Pick<ColumnarBatch, 'rows' | 'features' | 'lines'>,
  ids: readonly ByteCells[],
  passthrough: readonly ByteCells[],
): ColumnarBatch {
  let idText: string[][] | undefined;
  let passText: string[][] | undefined;
  return {
    rows: b.rows,
    features: b.features,
    lines: b.lines,
    textBytes: { ids, passthrough },
    get ids(): string[][] {
      return (idText ??= ids.map(decodeCells));
    },
    get passthrough(): string[][] {
      return (passText ??= passthrough.map(decodeCells));
    },
  };
}
