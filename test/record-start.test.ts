/**
 * Speculative record starts (formats/csv/record-start.ts, issue #17): from a window of bytes at
 * an arbitrary cut, the first record at or after it, checked against a full pass from the start
 * of the file at every cut offset, including cuts inside quoted fields that hold line breaks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findRecordStart } from '../src/formats/csv/record-start.js';
import { mlpRows, MLP_HEADER, toCsv } from './helpers/jobs.js';
import { mulberry32 } from '../scripts/models/models.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPTIONS = { delimiter: COMMA, quote: QUOTE, fields: MLP_HEADER.length };

/** Every record start after the header, by quote parity from byte 0 (what the serial split does). */
function recordStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let quoted = false;
  for (let p = 0; p < buf.length; p++) {
    const c = buf[p];
    if (c === QUOTE) quoted = !quoted;
    else if (!quoted && (c === 0x0a || (c === 0x0d && buf[p + 1] !== 0x0a))) starts.push(p + 1);
  }
  return starts.filter((s) => s < buf.length);
}

/** The first true start at or after `cut`. */
function truth(starts: readonly number[], cut: number): number | undefined {
  return starts.find((s) => s >= cut);
}

function file(eol: string, seed: number): Buffer {
  const rand = mulberry32(seed);
  const notes = ['plain', 'a, comma', 'say ""hi""', `two${eol}lines`, `"quoted${eol}start"`, `x${eol}${eol}y, "z"`, `,${eol},`];
  const rows = mlpRows(300, { seed, noteFor: () => notes[Math.floor(rand() * notes.length)] as string });
  return Buffer.from(toCsv(MLP_HEADER, rows, eol));
}

describe('findRecordStart', () => {
  for (const [name, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ] as const) {
    it(`at every cut of a file with quoted line breaks (${name}): certain answers are exact`, () => {
      const buf = file(eol, name.length);
      const starts = recordStarts(buf);
      const headerEnd = starts[0] as number;
      let certain = 0;
      let cuts = 0;
      for (let cut = headerEnd + 1; cut < buf.length - 1; cut++) {
        const expected = truth(starts, cut);
        if (expected === undefined) continue;
        const windowEnd = Math.min(buf.length, cut + 4096);
        const r = findRecordStart(buf.subarray(cut - 1, windowEnd), windowEnd === buf.length, OPTIONS);
        cuts++;
        if (!r?.certain) continue;
        certain++;
        assert.equal(cut - 1 + r.start, expected, `cut at ${cut}: start ${cut - 1 + r.start}, expected ${expected}`);
      }
      // Nearly every cut is decided from the window alone; the rest go to the verified path.
      assert.ok(certain / cuts > 0.99, `${certain} of ${cuts} cuts certain`);
    });
  }

  it('a cut inside a quoted field that holds line breaks finds the record after that field', () => {
    const text = `${MLP_HEADER.join(',')}\nr0,"line one\nline two\nr9,x,1,2,3,4,5,6,7,8\n",1,2,3,4,5,6,7,8\nr1,plain,1,2,3,4,5,6,7,8\n`;
    const buf = Buffer.from(text);
    const cut = text.indexOf('line two');
    const r = findRecordStart(buf.subarray(cut - 1), true, OPTIONS);
    // Outside quotes, 'r9,…' would look like a record; the closing quote after it breaks that reading.
    assert.ok(r?.certain);
    assert.equal(r.inQuotes, true);
    assert.equal(cut - 1 + r.start, text.indexOf('r1,'));
  });

  it('a window without a line ending outside quotes says so (read more or take the verified path)', () => {
    const buf = Buffer.from('abc,"def\nghi');
    assert.equal(findRecordStart(buf.subarray(2), false, OPTIONS)?.certain ?? false, false);
  });
});
