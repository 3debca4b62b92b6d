/**
 * Text cells (ids, passthrough) kept as the bytes they were read as, on the fast CSV path. A
 * CSV part is UTF-8 like the input, so most cells can be copied from input to output without
 * ever becoming strings; the strings are only made when something asks for them (JSON Lines,
 * tests). How each cell goes into a CSV part (as is, quoted, formula-neutralised) is decided on
 * its bytes when it is read, by the rules of csvText (cells.ts).
 *
 * Exactness: a cell reaches a batch only after the invalid_utf8 rule accepted its row, so its
 * bytes are valid UTF-8 and decoding then encoding them gives the same bytes back.
 */
import type { ByteCells, ColumnarBatch } from '../../core/types.js';
import { CSV_AS_IS, CSV_PREFIXED, CSV_PREFIXED_QUOTED, CSV_QUOTED, startsLikeFormula } from '../parts/cells.js';
import { FIELD_NUMBER, FIELD_PLAIN, isEscapedKind, type ScannedRecord } from './scanner.js';
import { isDecimal } from '../rows/decimal.js';

/** Bytes that make csvQuote quote a cell: " , CR LF. */
const NEEDS_QUOTES = new Uint8Array(256);
for (const c of [0x22, 0x2c, 0x0d, 0x0a]) NEEDS_QUOTES[c] = 1;
/** Cells shorter than this are copied byte by byte: cheaper than a native call. */
const SHORT_CELL = 48;

/** Collects one column's cells for one batch. */
export class ByteCellsBuilder {
  private bytes: Buffer;
  private offsets: Int32Array;
  private csvModes: Uint8Array;
  private rows = 0;
  private used = 0;

  /**
   * `commaDelimited`: the input splits on the CSV part's delimiter and quote (a comma and ").
   * `capacityBytes`: room for the cells' bytes (it grows when they need more); by default 16 a row.
   */
  constructor(
    capacityRows: number,
    private readonly commaDelimited: boolean,
    capacityBytes = capacityRows * 16,
  ) {
    this.bytes = Buffer.allocUnsafe(Math.max(64, capacityBytes));
    this.offsets = new Int32Array(capacityRows + 1);
    this.csvModes = new Uint8Array(capacityRows);
  }

  /** Appends field i of the record. */
  append(rec: ScannedRecord, i: number): void {
    const kind = rec.kinds[i];
    const src = rec.buf;
    const start = rec.starts[i] as number;
    const end = rec.ends[i] as number;
    const n = end - start;
    this.reserve(n);
    if (isEscapedKind(kind)) {
      // Doubled quotes: the unescaped content, which the writer quotes again.
      const at = this.used;
      this.used = rec.contentInto(i, this.bytes, at);
      this.finishCell(csvMode(this.bytes, at, this.used));
      return;
    }
    const out = this.bytes;
    const at = this.used;
    if (n < SHORT_CELL) for (let p = start, q = at; p < end; p++) out[q++] = src[p] as number;
    else src.copy(out, at, start, end);
    this.used = at + n;
    // A plain field of a comma-delimited file holds none of " , CR LF (the scanner stopped on
    // them): unless it starts like a formula, csvText leaves it as it is.
    const plain = (kind === FIELD_PLAIN || kind === FIELD_NUMBER) && this.commaDelimited && (n === 0 || !startsLikeFormula(src[start] as number));
    this.finishCell(plain ? CSV_AS_IS : csvMode(out, at, at + n));
  }

  /** Bytes of the cells appended so far. */
  get usedBytes(): number {
    return this.used;
  }

  finish(): ByteCells {
    return { bytes: this.bytes.subarray(0, this.used), offsets: this.offsets.subarray(0, this.rows + 1), csvModes: this.csvModes.subarray(0, this.rows) };
  }

  private finishCell(mode: number): void {
    if (this.rows === this.csvModes.length) this.growRows();
    this.csvModes[this.rows] = mode;
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
    const csvModes = new Uint8Array(this.csvModes.length * 2);
    csvModes.set(this.csvModes);
    this.offsets = offsets;
    this.csvModes = csvModes;
  }
}

/**
 * How csvText(text) changes the cell whose UTF-8 bytes are [start, end): neutraliseFormula
 * prefixes a quote to text that starts like a formula and is not a plain decimal (so -3.5 stays
 * a number), then csvQuote quotes text holding " , CR or LF, doubling its quotes. Those are all
 * ASCII bytes, which never occur inside a multi-byte UTF-8 character, so bytes answer as chars do.
 */
function csvMode(b: Uint8Array, start: number, end: number): number {
  let quoted = false;
  for (let p = start; p < end; p++) {
    if (NEEDS_QUOTES[b[p] as number] === 1) {
      quoted = true;
      break;
    }
  }
  const formula = end > start && startsLikeFormula(b[start] as number) && !isDecimal(b, start, end);
  return formula ? (quoted ? CSV_PREFIXED_QUOTED : CSV_PREFIXED) : quoted ? CSV_QUOTED : CSV_AS_IS;
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
