/** Float32 values for differential tests of the shortest-text formatter. */
import { mulberry32 } from '../../scripts/models/models.js';

/** Float32 values of every kind the fast formatter must get exactly as the toPrecision search does. */
export function float32Cases(): number[] {
  const rand = mulberry32(20261129);
  const bits = new Uint32Array(1);
  const f32 = new Float32Array(bits.buffer);
  const fromBits = (b: number): number => {
    bits[0] = b >>> 0;
    return f32[0] as number;
  };
  const toBits = (v: number): number => {
    f32[0] = v;
    return bits[0] as number;
  };
  const cases: number[] = [0, -0, NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, 0.1, 0.5, 1];
  // Random bit patterns: every exponent, subnormals, NaNs with payloads.
  for (let i = 0; i < 200_000; i++) cases.push(fromBits(Math.floor(rand() * 2 ** 32)));
  // Scores: uniform in (0, 1), and sigmoids of a wide range (many values near 0 and 1).
  for (let i = 0; i < 100_000; i++) cases.push(Math.fround(rand()), Math.fround(1 / (1 + Math.exp(-(rand() * 40 - 20)))));
  // Subnormals.
  for (let i = 0; i < 5_000; i++) cases.push(fromBits(Math.floor(rand() * 0x800000)));
  // Powers of two and ten, with their neighbours.
  const near = (v: number): number[] => [-2, -1, 0, 1, 2].map((d) => fromBits(toBits(Math.fround(v)) + d));
  for (let e = -149; e <= 127; e++) cases.push(...near(2 ** e));
  for (let e = -45; e <= 38; e++) cases.push(...near(10 ** e));
  // Near rounding boundaries: p-digit decimals that end in 5 at digit p + 1, at every scale.
  for (let i = 0; i < 20_000; i++) {
    const p = 1 + Math.floor(rand() * 9);
    const e = Math.floor(rand() * 60) - 30;
    const n = Math.floor(10 ** (p - 1) + rand() * 9 * 10 ** (p - 1));
    cases.push(...near(Number(`${n}5e${e - p}`)));
  }
  return [...cases, ...cases.map((v) => -v)].map(Math.fround);
}
