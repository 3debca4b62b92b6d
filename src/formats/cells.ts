/** Turning values into output text: numbers that round-trip, and text that is safe to open. */

/** Shortest decimal text that reads back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
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

export function csvQuote(text: string, delimiter: string): string {
  if (text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r')) {
    return `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

/** A text cell as written to a CSV part: neutralised, then quoted if needed. */
export function csvText(text: string, delimiter = ','): string {
  return csvQuote(neutraliseFormula(text), delimiter);
}
