import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { csvText, formatFloat32, formatNumber, neutraliseFormula } from '../src/formats/parts/cells.js';
import { float32Cases } from './helpers/float32-cases.js';
import { referenceFormatFloat32 } from './helpers/reference-format.js';

/** The definition: the fewest significant digits whose value rounds back to the same float32. */
function shortestByDefinition(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  throw new Error(`no round-trip text for ${v}`);
}

it('float32 scores print as the shortest text that round-trips', () => {
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  let state = 12345;
  for (let i = 0; i < 50_000; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[0] = state;
    const v = f[0] as number;
    if (!Number.isFinite(v) || v === 0) continue;
    const s = formatFloat32(v);
    assert.equal(Math.fround(Number(s)), v, `${s} reads back as ${v}`);
    assert.equal(s, shortestByDefinition(v));
  }
  for (const v of [0.5, 0.1, 1, 3, 100, 1e-7, 123456792, 0.3333333432674408].map(Math.fround)) {
    assert.equal(formatFloat32(v), shortestByDefinition(v));
  }
  assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  assert.equal(formatFloat32(0), '0');
  assert.equal(formatNumber(0.123456, true, 2), '0.12');
});

it('the fast float32 formatter gives the same text as the toPrecision search, for every kind of value', () => {
  let checked = 0;
  for (const v of float32Cases()) {
    const expected = referenceFormatFloat32(v);
    if (formatFloat32(v) !== expected) assert.fail(`formatFloat32(${v}) = ${formatFloat32(v)}, expected ${expected}`);
    checked++;
  }
  assert.ok(checked > 600_000);
});

it('neutralises formula-looking text but never numbers', () => {
  assert.equal(neutraliseFormula('=SUM(A1)'), "'=SUM(A1)");
  assert.equal(neutraliseFormula('+cmd'), "'+cmd");
  assert.equal(neutraliseFormula('@x'), "'@x");
  assert.equal(neutraliseFormula('\tx'), "'\tx");
  assert.equal(neutraliseFormula('-3.5'), '-3.5');
  assert.equal(neutraliseFormula('+1e5'), '+1e5');
  assert.equal(neutraliseFormula('plain'), 'plain');
  assert.equal(csvText('a,"b"'), '"a,""b"""');
});

describe('the decimal grammar', () => {
  it('DECIMAL on strings and isDecimal on bytes agree', async () => {
    const { DECIMAL, isDecimal } = await import('../src/formats/rows/decimal.js');
    const cases = [
      '',
      '0',
      '-0',
      '+1',
      '1.',
      '.5',
      '.',
      '-.',
      '1e5',
      '1E+5',
      '1e',
      '1e-',
      '-1.5e-7',
      '1,5',
      ' 1',
      '1 ',
      '0x1F',
      'NaN',
      'Infinity',
      '--1',
      '1.2.3',
      'e5',
      '12345678901234567890',
      '+',
      '-',
      '=1+1',
      '@x',
    ];
    for (const c of cases) {
      const b = Buffer.from(`x${c}y`);
      assert.equal(isDecimal(b, 1, b.length - 1), DECIMAL.test(c), JSON.stringify(c));
    }
  });
});
