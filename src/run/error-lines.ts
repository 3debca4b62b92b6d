/**
 * Adds a number to the `line` column of an errors file (formats/parts/part-formats.ts: a header
 * line, then `source,line,…` records, every cell written by csvText), as a stream: finalize turns
 * a speculative range's lines into the object's lines with it (speculative-ranges.ts). Records
 * may hold line breaks inside quoted cells, so record ends are found by quote parity, as the
 * file was written: every quote byte flips it, a doubled quote flips it twice.
 */
const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;

const enum At {
  /** In a record's cells after `line` (or the header line): copy up to its end. */
  Rest,
  /** In the first cell (`source`), up to the comma after it. */
  Source,
  /** In the `line` cell: its digits are held until the comma after them. */
  Line,
}

export async function* shiftErrorLines(chunks: AsyncIterable<Buffer>, shift: number): AsyncGenerator<Buffer> {
  let at: At = At.Rest;
  let quoted = false;
  let digits = '';
  for await (const chunk of chunks) {
    const out: Buffer[] = [];
    let from = 0;
    for (let p = 0; p < chunk.length; p++) {
      const c = chunk[p] as number;
      if (at === At.Line) {
        if (c !== COMMA) {
          digits += String.fromCharCode(c);
          continue;
        }
        out.push(Buffer.from(String(Number(digits) + shift)));
        digits = '';
        from = p;
        at = At.Rest;
      } else if (c === QUOTE) quoted = !quoted;
      else if (quoted) continue;
      else if (at === At.Rest && c === LF) at = At.Source;
      else if (at === At.Source && c === COMMA) {
        out.push(chunk.subarray(from, p + 1));
        from = p + 1;
        at = At.Line;
      }
    }
    if (at !== At.Line) out.push(chunk.subarray(from));
    yield Buffer.concat(out);
  }
  if ((at as At) === At.Line) throw new Error('an errors file ended inside a line number');
}
