/**
 * Where does the first record at or after a byte offset start, reading only a window of bytes
 * from that offset on? The building block of a plan without a serial pass (issue #17): cut an
 * object at byte offsets and let each shard find its own first record, as in "Speculative
 * Distributed CSV Data Parsing for Big Data Analytics" (Ge et al., SIGMOD 2019).
 *
 * The only unknown at a cut is whether it lies inside a quoted field (the quote parity of all
 * the bytes before it). Both answers are tried: each gives a candidate start (the byte after the
 * first line ending outside quotes), and the records from there are parsed with the job's field
 * count. The wrong parity reads quoted text as records and closing quotes as opening ones, which
 * the grammar (a quote only opens a field or closes it before a delimiter or a line ending) and
 * the field count refuse within a record or two. The answer is `certain` only when exactly one
 * parity parses cleanly over the window (or both lead to the same start); otherwise the caller
 * must use a verified path (the serial split, split-csv.ts). The answer is a speculation either
 * way: the shards count their ranges' quote bytes, and finalize proves every start by the parity
 * of the quotes before it (run/speculative-ranges.ts).
 *
 * Parity is what the serial split counts too (every quote byte flips it; a doubled quote flips
 * twice), so with relaxQuotes (a quote inside an unquoted field is text) neither is exact and the
 * plan keeps the serial split.
 */

const LF = 0x0a;
const CR = 0x0d;

export interface RecordStartOptions {
  readonly delimiter: number;
  readonly quote: number;
  /** Fields per record (the header's count). */
  readonly fields: number;
  /** Records parsed after a candidate start to judge it (fewer if the window ends first). */
  readonly checkRecords?: number;
}

export interface RecordStart {
  /** Offset in the window of the first byte of the first record at or after the cut. */
  readonly start: number;
  /** Whether the cut lies inside a quoted field (the parity that was chosen). */
  readonly inQuotes: boolean;
  /** Exactly one parity parsed cleanly (or both gave this start); false: ask a verified path. */
  readonly certain: boolean;
}

interface Candidate {
  readonly start: number;
  /** Records parsed cleanly from `start` before the window ended or checkRecords was reached. */
  readonly clean: number;
  /** A record that breaks the grammar or has another field count was met. */
  readonly broken: boolean;
}

/**
 * `window` holds the bytes from one byte before the cut (`window[0]`, so a cut right after a line
 * ending is seen as a record start) to as far as the caller read; `final`: the object ends at the
 * window's end. Returns undefined when neither parity finds a line ending in the window (a
 * record longer than the window: read more, or take the verified path).
 */
export function findRecordStart(window: Uint8Array, final: boolean, options: RecordStartOptions): RecordStart | undefined {
  const outside = candidate(window, false, final, options);
  const inside = candidate(window, true, final, options);
  if (!outside && !inside) return undefined;
  const pick = (c: Candidate, inQuotes: boolean, certain: boolean): RecordStart => ({ start: c.start, inQuotes, certain });
  if (outside && inside && outside.start === inside.start) return pick(outside, false, true);
  const okOutside = outside !== undefined && !outside.broken && outside.clean > 0;
  const okInside = inside !== undefined && !inside.broken && inside.clean > 0;
  if (okOutside && !okInside) return pick(outside, false, true);
  if (okInside && !okOutside) return pick(inside, true, true);
  // Both parse cleanly (too little text to tell) or neither does (a broken file): a guess.
  if (outside) return pick(outside, false, false);
  return pick(inside as Candidate, true, false);
}

/** The start the parity `inQuotes` at the cut leads to, and how the records from there parse. */
function candidate(w: Uint8Array, inQuotes: boolean, final: boolean, o: RecordStartOptions): Candidate | undefined {
  const start = firstStart(w, inQuotes, final, o.quote);
  if (start === undefined) return undefined;
  const wanted = o.checkRecords ?? 8;
  let pos = start;
  let clean = 0;
  while (clean < wanted && pos < w.length) {
    const next = parseRecord(w, pos, final, o);
    if (next === BROKEN) return { start, clean, broken: true };
    if (next === CUT) break;
    pos = next;
    clean++;
  }
  return { start, clean, broken: false };
}

/** After the line ending that ends the record holding the cut (w[1] is the cut's byte). */
function firstStart(w: Uint8Array, inQuotes: boolean, final: boolean, quote: number): number | undefined {
  if (w.length < 2) return final ? w.length : undefined;
  const before = w[0];
  // The byte before the cut ends a line outside quotes: the cut is a record start (an LF, or a
  // CR not followed by LF; a CR followed by LF continues to the LF).
  if (!inQuotes && (before === LF || (before === CR && w[1] !== LF))) return 1;
  let quoted = inQuotes;
  for (let p = 1; p < w.length; p++) {
    if (quoted) {
      // Only the closing quote ends a quoted stretch: one native search (a whole window, when the
      // wrong parity starts inside quotes in a file with few of them).
      p = w.indexOf(quote, p);
      if (p === -1) return undefined;
      quoted = false;
      continue;
    }
    const c = w[p];
    if (c === quote) quoted = true;
    else if (c === LF) return p + 1;
    else if (c === CR) {
      if (p + 1 >= w.length) return final ? p + 1 : undefined;
      return w[p + 1] === LF ? p + 2 : p + 1;
    }
  }
  return undefined;
}

const BROKEN = -1;
const CUT = -2;

/**
 * Parses one record from `pos` (empty lines are skipped, as the readers skip them); returns
 * where the next one starts, BROKEN if it breaks the grammar or has another field count, CUT if
 * the window ends inside it.
 */
function parseRecord(w: Uint8Array, from: number, final: boolean, o: RecordStartOptions): number {
  let pos = from;
  while (pos < w.length && (w[pos] === LF || w[pos] === CR)) pos++;
  if (pos >= w.length) return CUT;
  let fields = 1;
  for (;;) {
    if (w[pos] === o.quote) {
      // Quoted: to the closing quote, which must be followed by a delimiter or a line ending.
      pos++;
      for (;;) {
        while (pos < w.length && w[pos] !== o.quote) pos++;
        if (pos >= w.length) return final ? BROKEN : CUT; // not closed
        if (pos + 1 >= w.length) {
          if (!final) return CUT; // closing, or the first of a doubled quote?
          break;
        }
        if (w[pos + 1] !== o.quote) break;
        pos += 2;
      }
      pos++;
      const c = w[pos];
      if (pos < w.length && c !== o.delimiter && c !== LF && c !== CR) return BROKEN;
    } else {
      while (pos < w.length && w[pos] !== o.delimiter && w[pos] !== LF && w[pos] !== CR) {
        if (w[pos] === o.quote) return BROKEN;
        pos++;
      }
    }
    if (pos >= w.length) return final ? (fields === o.fields ? pos : BROKEN) : CUT;
    if (w[pos] === o.delimiter) {
      fields++;
      pos++;
      continue;
    }
    if (fields !== o.fields) return BROKEN;
    if (w[pos] === CR && pos + 1 < w.length && w[pos + 1] === LF) return pos + 2;
    return pos + 1;
  }
}
