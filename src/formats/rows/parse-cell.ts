/**
 * Strict cell parsing for model features. Number() alone is too lenient for data that feeds a
 * model ("" → 0, "0x1F" → 31, " 5 " → 5), so the text must look like a decimal number first.
 */
import type { RejectReason } from '../../core/types.js';
import { DECIMAL } from './decimal.js';

const INTEGER = /^[+-]?\d+$/;
const NAN_TOKENS = new Set(['NaN', 'nan', 'NAN', 'NA', 'N/A', 'null', 'NULL']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export type CellResult<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export function parseFloatCell(text: string, float32: boolean, allowNaN: boolean): CellResult<number> {
  if (text === '' || NAN_TOKENS.has(text)) {
    return allowNaN ? { ok: true, value: NaN } : { ok: false, reason: 'missing_value', detail: text === '' ? 'empty cell' : `"${text}" is a missing value` };
  }
  if (!DECIMAL.test(text)) {
    if (/^[+-]?(inf|infinity)$/i.test(text)) return { ok: false, reason: 'non_finite', detail: `"${text}" is not a finite number` };
    return {
      ok: false,
      reason: 'not_a_number',
      detail: `"${clip(text)}" is not a number (expected digits with "." as decimal point, no thousands separators)`,
    };
  }
  const v = Number(text);
  const stored = float32 ? Math.fround(v) : v;
  if (!Number.isFinite(stored)) {
    return { ok: false, reason: 'out_of_range', detail: `"${clip(text)}" is out of range for ${float32 ? 'float32' : 'float64'}` };
  }
  return { ok: true, value: stored };
}

export function parseInt64Cell(text: string): CellResult<bigint> {
  if (text === '') return { ok: false, reason: 'missing_value', detail: 'empty cell' };
  if (!INTEGER.test(text)) return { ok: false, reason: 'not_an_integer', detail: `"${clip(text)}" is not an integer` };
  const v = BigInt(text);
  if (v < INT64_MIN || v > INT64_MAX) return { ok: false, reason: 'out_of_range', detail: `"${clip(text)}" is out of range for int64` };
  return { ok: true, value: v };
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
