/** Turning values into output text: numbers that round-trip, and text that is safe to open. */
import { DECIMAL } from '../rows/decimal.js';
import { shortest, shortestFloat32Digits } from './float32-digits.js';

/**
 * Shortest decimal text that reads back as the same float32: the fewest significant digits p
 * for which v.toPrecision(p) reads back, searched from 7 (most float32 values need 7 or 8) down
 * or up, and written like String(). Parts depend on this exact text, so it must not change;
 * float32-digits.ts finds the same digits without strings, and the toPrecision search below is
 * kept for what that cannot decide.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (!shortestFloat32Digits(a)) return formatFloat32ByPrecision(v);
  const text = digitsText(shortest.digits, shortest.count, shortest.point);
  return v < 0 ? `-${text}` : text;
}

/** The search with toPrecision itself: the definition, and the fallback for rare values. */
export function formatFloat32ByPrecision(v: number): string {
  let s = v.toPrecision(7);
  if (Math.fround(Number(s)) === v) {
    for (let p = 6; p >= 1; p--) {
      const t = v.toPrecision(p);
      if (Math.fround(Number(t)) !== v) break;
      s = t;
    }
  } else {
    s = v.toPrecision(8);
    if (Math.fround(Number(s)) !== v) s = v.toPrecision(9);
  }
  // toPrecision switches to exponent form for large/small magnitudes: normalise like String().
  return s.includes('e') ? String(Number(s)) : s;
}

/**
 * 0.DIGITS × 10^point written as Number.prototype.toString writes it (plain from 1e-6 to 1e21,
 * exponent form outside); DIGITS is an integer of `count` digits without a trailing zero.
 */
export function digitsText(digits: number, count: number, point: number): string {
  const d = String(digits);
  if (point >= count && point <= 21) return d + '0'.repeat(point - count);
  if (point > 0 && point <= 21) return `${d.slice(0, point)}.${d.slice(point)}`;
  if (point > -6 && point <= 0) return `0.${'0'.repeat(-point)}${d}`;
  const exp = point - 1;
  return `${count > 1 ? `${d.slice(0, 1)}.${d.slice(1)}` : d}e${exp >= 0 ? '+' : '-'}${Math.abs(exp)}`;
}

export function formatNumber(v: number, float32: boolean, decimals: number | undefined): string {
  if (decimals !== undefined && Number.isFinite(v)) return v.toFixed(decimals);
  return float32 ? formatFloat32(v) : String(v);
}

/** = + - @ tab CR: a cell starting with one of these may run as a spreadsheet formula. */
export function startsLikeFormula(code: number): boolean {
  return code === 61 || code === 43 || code === 45 || code === 64 || code === 9 || code === 13;
}

/**
 * Spreadsheets run cells starting with = + - @ (and tab/CR) as formulas. Text that starts so is
 * prefixed with a quote; numbers (such as -3.5) are left alone, so numeric columns never change.
 */
export function neutraliseFormula(text: string): string {
  if (startsLikeFormula(text.charCodeAt(0))) {
    return DECIMAL.test(text) ? text : `'${text}`;
  }
  return text;
}

const NEEDS_QUOTES_COMMA = /[",\r\n]/;

export function csvQuote(text: string, delimiter: string): string {
  // One scan for the common comma case; other delimiters check each character.
  const needs =
    delimiter === ',' ? NEEDS_QUOTES_COMMA.test(text) : text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r');
  if (needs) {
    return `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

/** A text cell as written to a CSV part: neutralised, then quoted if needed. */
export function csvText(text: string, delimiter = ','): string {
  return csvQuote(neutraliseFormula(text), delimiter);
}

/**
 * How a text cell kept as bytes (ByteCells.csvModes, formats/csv/byte-cells.ts) goes into a CSV
 * part: csvText's outcome, decided once when the cell is read so that writing it is a copy.
 */
export const CSV_AS_IS = 0; // the bytes as they are
export const CSV_QUOTED = 1; // " + the bytes, quotes doubled + "
export const CSV_PREFIXED = 2; // ' + the bytes (neutraliseFormula)
export const CSV_PREFIXED_QUOTED = 3; // "' + the bytes, quotes doubled + "
