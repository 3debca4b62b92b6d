/**
 * The digits of the shortest float32 text without building strings: the same search as
 * formatFloat32's definition (v.toPrecision(p) from p = 7, shorter or longer while the text
 * reads back as v), done in double arithmetic that is exact or provably decided.
 *
 * toPrecision(p) rounds the exact binary value half-up to p significant digits. With
 * x = a × 10^k scaled into [10^8, 10^9) and f = floor(x), the p-digit rounding is
 * floor((f + 10^(9-p)/2) / 10^(9-p)) × 10^(9-p) for p ≤ 8 (the fraction of x cannot carry past
 * a multiple of 10^(9-p)), and f + (x − f ≥ 1/2) for p = 9: every candidate comes from f and
 * that one comparison. They are exact when 0 ≤ k ≤ 12 (a 24-bit significand × 5^12 needs fewer
 * than 53 bits), and when k < 0 and a < 2^53 (integer division with a remainder). Otherwise x
 * is one correctly rounded operation with an exact 10^|k| (|k| ≤ 22), within 2^-53 × 10^9 of the
 * true product, which can change f or the comparison only when x − f is that close to 0, 1/2 or
 * 1, and then we give up (the caller uses toPrecision).
 *
 * Reading back: Number(text) is the candidate R × 10^-k correctly rounded to a double, and so is
 * R / 10^k in double arithmetic when R < 2^53 and 10^k is exact (Clinger's fast path); then
 * Math.fround of it is the float32 that the text reads back as.
 */

/** 10^k for k = 0..22, all exact doubles. */
const POW10 = new Float64Array(23).map((_, k) => 10 ** k);

/** Filled by shortestFloat32Digits: the value is 0.DIGITS × 10^point; DIGITS has `count` digits, the last one not 0. */
export const shortest = { digits: 0, count: 0, point: 0 };

/** How near 0, 1/2 or 1 an inexact product's fraction may be before the rounding is in doubt (error ≤ 1.2e-7). */
const DOUBT = 1e-6;
const LOG10_2 = 0.3010299956639812;

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the word holding a double's sign and exponent. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

let scale = 0;

/** Whether R × 10^-scale reads back as the float32 a. */
function readsBack(a: number, r: number): boolean {
  return Math.fround(scale >= 0 ? r / (POW10[scale] as number) : r * (POW10[-scale] as number)) === a;
}

/**
 * x rounded half-up to a multiple of unit (10^(9-p), at least 10), from f = floor(x). Int32
 * arithmetic (f + unit/2 < 2^31), so a constant unit becomes a multiply and shift.
 */
function roundedTo(f: number, unit: number): number {
  return (((f + (unit >> 1)) / unit) | 0) * unit;
}

/**
 * Fills `shortest` for a finite float32 a > 0 and returns true, or returns false when this
 * path cannot decide: magnitudes outside about 1e-14..1e31, or a product too near a rounding
 * boundary (a few values in a million).
 */
export function shortestFloat32Digits(a: number): boolean {
  bits[0] = a;
  // a is in [10^e, 10^(e+1)) with e one of floor(e2 × log10 2) and the next integer.
  const e2 = ((words[HIGH_WORD] as number) >>> 20) - 1023;
  scale = 8 - Math.floor(e2 * LOG10_2);
  if (scale > 22 || scale < -21) return false;
  let x = scale >= 0 ? a * (POW10[scale] as number) : a / (POW10[-scale] as number);
  if (x >= 1e9) {
    scale--;
    x = scale >= 0 ? a * (POW10[scale] as number) : a / (POW10[-scale] as number);
  }
  let f: number;
  /** Whether x − f ≥ 1/2: the nine-digit rounding goes up. */
  let up: boolean;
  if (scale >= 0 && scale <= 12) {
    f = Math.floor(x);
    up = x - f >= 0.5;
  } else if (scale < 0 && a <= Number.MAX_SAFE_INTEGER) {
    // Float32 values this large are integers: divide exactly, with the remainder.
    const d = POW10[-scale] as number;
    f = Math.floor(a / d);
    up = 2 * (a - f * d) >= d;
  } else {
    f = Math.floor(x);
    const frac = x - f;
    if (frac < DOUBT || frac > 1 - DOUBT || Math.abs(frac - 0.5) < DOUBT) return false;
    up = frac >= 0.5;
  }
  if (f < 1e8 || f >= 1e9) return false;

  let r = roundedTo(f, 100);
  if (readsBack(a, r)) {
    for (let unit = 1000; unit <= 1e8; unit *= 10) {
      const t = roundedTo(f, unit);
      if (!readsBack(a, t)) break;
      r = t;
    }
  } else {
    r = roundedTo(f, 10);
    // Nine digits always read back, so the definition never checks them.
    if (!readsBack(a, r)) r = up ? f + 1 : f;
  }
  // r has 9 digits, or 10 when rounding carried to 10^9.
  shortest.point = (r >= 1e9 ? 10 : 9) - scale;
  let count = r >= 1e9 ? 10 : 9;
  // r ≤ 10^9 fits an int32: integer division, not a floating-point modulo.
  let n = r | 0;
  while (n % 10 === 0) {
    n = (n / 10) | 0;
    count--;
  }
  shortest.digits = n;
  shortest.count = count;
  return true;
}
