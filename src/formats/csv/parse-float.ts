/**
 * Exact decimal parsing straight from bytes, for the fast CSV path.
 *
 * The contract is parse-cell.ts: a cell is a number only if it matches its strict DECIMAL
 * grammar, and its value is `Number(text)` (float64) or `Math.fround(Number(text))` (float32),
 * bit for bit. `parseDecimalFast` handles the common case without building a string; anything
 * it is not sure about (more digits, big exponents, missing/NaN tokens, garbage) it declines,
 * and `parseFloatBytes` then calls parseFloatCell itself on the decoded text, so values, reasons
 * and messages are those of the general path by construction.
 *
 * Why the fast case is exact (Clinger's fast path):
 * - the significand m has at most 15 significant digits, so m < 10^15 < 2^53 is an exact double;
 * - 10^k for 0 ≤ k ≤ 22 is an exact double (5^22 < 2^53);
 * - IEEE-754 multiplication and division are correctly rounded, so m × 10^k and m ÷ 10^k are the
 *   double nearest to the exact decimal value, which is what Number() returns (ECMAScript
 *   requires correct rounding up to 20 significant digits; V8 rounds correctly for all).
 * float32: the reference value Math.fround(Number(text)) is a function of the double alone, so
 * equal doubles give equal float32s. The double rounding lives in the reference definition
 * itself; the fast path adds none. Storing into a Float32Array rounds exactly like Math.fround.
 * Overflow: the fast case is below 10^15 × 10^22 = 10^37 < 3.4 × 10^38 (float32 max), so it never
 * produces an out-of-range value; out_of_range is always decided by parseFloatCell.
 */
import { parseFloatCell, type CellResult } from '../rows/parse-cell.js';

const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const LOWER_E = 0x65;
/** Exact powers of ten as doubles; 10^22 is the largest one that is exact. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** 10^15: below it the mantissa has at most 15 significant digits and is an exact double. */
const MAX_EXACT_MANTISSA = 1e15;
/** Exponents this large are never in the fast range; past it we stop counting (no overflow). */
const EXPONENT_CAP = 100_000;

/**
 * `Number(text)` for the bytes [start, end) when they are a plain decimal in the fast range;
 * NaN when declined (a valid decimal is never NaN, so NaN is free to mean "ask the slow path").
 */
export function parseDecimalFast(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i >= end) return NaN;
  const first = buf[i] as number;
  const negative = first === MINUS;
  if (negative || first === PLUS) i++;

  // All digits go into the mantissa: leading zeros add nothing, and while it stays below 10^15
  // every step is an exact integer. At 16+ significant digits it reaches 10^15: declined below.
  let mantissa = 0;
  const intStart = i;
  for (; i < end; i++) {
    const d = (buf[i] as number) - ZERO;
    if (d >>> 0 > 9) break;
    mantissa = mantissa * 10 + d;
  }
  let digits = i - intStart;
  let scale = 0; // power of ten implied by the digits after the point
  if (i < end && buf[i] === DOT) {
    const fracStart = ++i;
    for (; i < end; i++) {
      const d = (buf[i] as number) - ZERO;
      if (d >>> 0 > 9) break;
      mantissa = mantissa * 10 + d;
    }
    scale = fracStart - i;
    digits -= scale;
  }
  if (digits === 0) return NaN;

  let exponent = 0;
  if (i < end) {
    if (((buf[i] as number) | 0x20) !== LOWER_E) return NaN;
    const parsed = readExponent(buf, i + 1, end);
    if (parsed === undefined) return NaN;
    exponent = parsed;
  }
  if (mantissa === 0) return negative ? -0 : 0;
  if (mantissa >= MAX_EXACT_MANTISSA) return NaN;
  const value = scaleExact(mantissa, scale + exponent);
  return negative ? -value : value;
}

/**
 * The signed exponent after [eE]; ±Infinity once it passes EXPONENT_CAP (so that a long run of
 * fraction zeros cannot cancel a truncated exponent); undefined unless the rest is [+-]?\d+.
 */
function readExponent(buf: Uint8Array, from: number, end: number): number | undefined {
  let i = from;
  if (i >= end) return undefined;
  const c = buf[i] as number;
  const negative = c === MINUS;
  if (negative || c === PLUS) i++;
  if (i >= end) return undefined;
  let exponent = 0;
  for (; i < end; i++) {
    const d = (buf[i] as number) - ZERO;
    if (d < 0 || d > 9) return undefined;
    exponent = exponent > EXPONENT_CAP ? Infinity : exponent * 10 + d;
  }
  return negative ? -exponent : exponent;
}

/** mantissa × 10^e10 when both operands are exact doubles; NaN (decline) otherwise. */
function scaleExact(mantissa: number, e10: number): number {
  if (e10 >= 0 && e10 <= 22) return mantissa * (POW10[e10] as number);
  if (e10 < 0 && e10 >= -22) return mantissa / (POW10[-e10] as number);
  return NaN;
}

/**
 * Full parse-cell semantics for a field whose content is the bytes [start, end) (an unquoted
 * field, or a quoted one without escaped quotes): the fast path, else parseFloatCell on the
 * UTF-8 text (identical to the latin1 text whenever the grammar can match, since it is ASCII).
 */
export function parseFloatBytes(buf: Buffer, start: number, end: number, float32: boolean, allowNaN: boolean): CellResult<number> {
  const fast = parseDecimalFast(buf, start, end);
  if (fast === fast) return { ok: true, value: float32 ? Math.fround(fast) : fast };
  return parseFloatCell(buf.toString('utf8', start, end), float32, allowNaN);
}
