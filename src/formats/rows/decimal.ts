/**
 * The one decimal grammar: what a numeric cell must look like to be read as a number (parse-cell),
 * and what a text cell that starts like a formula may look like to be left as is (the part
 * writers). Two encodings of the same grammar, for strings and for bytes; test/cells.test.ts
 * checks that they agree.
 */

/** A plain decimal number: digits, an optional "." part, an optional exponent; no spaces, no thousands separators. */
export const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** DECIMAL on bytes [start, end), without decoding them. */
export function isDecimal(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
  const intStart = i;
  while (i < end && isDigit(b[i])) i++;
  let digits = i - intStart;
  if (i < end && b[i] === 0x2e) {
    const fracStart = ++i;
    while (i < end && isDigit(b[i])) i++;
    digits += i - fracStart;
  }
  if (digits === 0) return false;
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const expStart = i;
    while (i < end && isDigit(b[i])) i++;
    if (i === expStart) return false;
  }
  return i === end;
}
