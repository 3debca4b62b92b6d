/** Turning values into output text: numbers that round-trip, and text that is safe to open. */

/**
 * Shortest decimal text that reads back as the same float32. Most float32 values need 7 or 8
 * significant digits, so the search starts at 7 and walks down (shorter) or up (8, then 9).
 * The shortest form never ends in a 0 digit, so no trailing zeros need trimming.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return '0';
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

export function formatNumber(v: number, float32: boolean, decimals: number | undefined): string {
  if (decimals !== undefined && Number.isFinite(v)) return v.toFixed(decimals);
  return float32 ? formatFloat32(v) : String(v);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Spreadsheets run cells starting with = + - @ (and tab/CR) as formulas. Text that starts so is
 * prefixed with a quote; numbers (such as -3.5) are left alone, so numeric columns never change.
 */
export function neutraliseFormula(text: string): string {
  const c = text.charCodeAt(0);
  // = + - @ \t \r
  if (c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13) {
    return DECIMAL.test(text) ? text : `'${text}`;
  }
  return text;
}

const NEEDS_QUOTES_COMMA = /[",\r\n]/;

export function csvQuote(text: string, delimiter: string): string {
  // One scan for the common comma case; other delimiters check each character.
  const needs = delimiter === ',' ? NEEDS_QUOTES_COMMA.test(text) : text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r');
  if (needs) {
    return `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

/** A text cell as written to a CSV part: neutralised, then quoted if needed. */
export function csvText(text: string, delimiter = ','): string {
  return csvQuote(neutraliseFormula(text), delimiter);
}
