/**
 * The byte writer against the string formatting it replaced (helpers/reference-format.ts):
 * random batches of every output type, text that needs quoting, escaping or neutralising, with
 * and without fixed decimals, in CSV and JSON Lines, must give the same bytes.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../scripts/models/models.js';
import type { ColumnarBatch, ScoreColumns } from '../src/core/types.js';
import { partFormat } from '../src/formats/parts/part-formats.js';
import { jobSpecSchema, type JobSpec } from '../src/spec/job-spec.js';
import { float32Cases } from './helpers/float32-cases.js';
import { referenceCsvRows, referenceJsonlRows } from './helpers/reference-format.js';

type Rand = () => number;

const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

/** Text cells: plain ids mostly, then everything csvText and JSON.stringify treat specially. */
const SPECIAL_TEXT = [
  '',
  'a,b',
  'say "hi"',
  'two\nlines',
  'cr\rhere',
  '=SUM(A1)',
  '+cmd',
  '-3.5',
  '-x',
  '@at',
  '\ttab',
  '\rcr',
  '+1e5',
  '-.5e-3',
  'café',
  'naïve,comma',
  '日本語',
  '😀 emoji',
  'lone \ud800 surrogate',
  'tail \udfff',
  'back\\slash',
  'ctl\u0001x',
  'del\u007f',
  'x'.repeat(64),
  'y'.repeat(65),
  `${'z'.repeat(70)},"quoted"`,
  `=${'w'.repeat(80)}`,
  `é${'v'.repeat(90)}`,
];

function randomText(rand: Rand): string {
  const u = rand();
  if (u < 0.6) return `r${Math.floor(rand() * 1e7)}`;
  if (u < 0.8) return pick(rand, SPECIAL_TEXT);
  // Random code units, including surrogates and control characters.
  let s = '';
  for (let n = Math.floor(rand() * 12); n > 0; n--) s += String.fromCharCode(pick(rand, [Math.floor(rand() * 128), Math.floor(rand() * 0x10000)]));
  return s;
}

const F32_SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, 1e-7, 123456792, 0.5, 1];
const F64_SPECIAL = [0, -0, NaN, Infinity, -Infinity, 5e-324, 1.7976931348623157e308, 1e21, 1e-7, 123.456, -0.000001, 2 ** 53];

function randomFloat(rand: Rand, special: readonly number[]): number {
  const u = rand();
  if (u < 0.5) return 1 / (1 + Math.exp(-(rand() * 30 - 15)));
  if (u < 0.7) return pick(rand, special);
  return (rand() - 0.5) * 10 ** Math.floor(rand() * 80 - 40);
}

type Dtype = 'float32' | 'float64' | 'int64' | 'int32' | 'string' | 'boolean';

function randomValues(rand: Rand, dtype: Dtype, n: number): ScoreColumns['values'] {
  switch (dtype) {
    case 'float32':
      return Float32Array.from({ length: n }, () => randomFloat(rand, F32_SPECIAL));
    case 'float64':
      return Float64Array.from({ length: n }, () => randomFloat(rand, F64_SPECIAL));
    case 'int64':
      return BigInt64Array.from({ length: n }, () => pick(rand, [BigInt(Math.floor((rand() - 0.5) * 2 ** 53)), -(2n ** 63n), 2n ** 63n - 1n, 0n]));
    case 'int32':
      return Int32Array.from({ length: n }, () => pick(rand, [Math.floor((rand() - 0.5) * 2 ** 32), -(2 ** 31), 2 ** 31 - 1, 0, 7]));
    case 'string':
      return Array.from({ length: n }, () => randomText(rand));
    case 'boolean':
      return Array.from({ length: n }, () => rand() < 0.5);
  }
}

interface Case {
  readonly spec: JobSpec;
  readonly batch: ColumnarBatch;
  readonly scores: ScoreColumns[];
}

function randomCase(rand: Rand, format: 'csv' | 'jsonl', decimals: number | undefined): Case {
  const rows = 1 + Math.floor(rand() * 300);
  const ids = Array.from({ length: Math.floor(rand() * 3) }, (_, k) => `id${k}`);
  const passthrough = Array.from({ length: Math.floor(rand() * 2) }, (_, k) => (k === 0 ? 'note, "free" text' : `p${k}`));
  const dtypes: Dtype[] = ['float32', 'float64', 'int64', 'int32', 'string', 'boolean'];
  const outputs = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => ({
    name: `out${k}`,
    dtype: pick(rand, dtypes),
    columns: Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, j) => (j === 1 ? `score "${k}",é` : `out${k}_${j}`)),
  }));
  const spec = jobSpecSchema.parse({
    name: 'formats',
    model: { uri: 'model.onnx', inputs: [{ name: 'x', columns: ['f'] }], outputs: outputs.map((o) => ({ name: o.name, columns: o.columns })) },
    input: { uri: 'in/', id: ids, passthrough },
    output: { uri: 'out/', format, ...(decimals === undefined ? {} : { decimals }) },
  });
  const textColumn = (): string[] => Array.from({ length: rows }, () => randomText(rand));
  const batch: ColumnarBatch = { rows, features: new Map(), ids: ids.map(textColumn), passthrough: passthrough.map(textColumn), lines: [] };
  const scores = outputs.map((o) => ({ name: o.name, width: o.columns.length, values: randomValues(rand, o.dtype, rows * o.columns.length) }));
  return { spec, batch, scores };
}

function referenceBytes({ spec, batch, scores }: Case): Buffer {
  const text = spec.output.format === 'jsonl' ? referenceJsonlRows(spec, batch, scores) : referenceCsvRows(batch, scores, spec.output.decimals);
  return Buffer.from(text, 'utf8');
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const around = (x: Buffer): string => JSON.stringify(x.subarray(Math.max(0, i - 40), i + 40).toString('utf8'));
  return `at byte ${i}: got ${around(a)}, expected ${around(b)}`;
}

for (const format of ['csv', 'jsonl'] as const) {
  for (const decimals of [undefined, 0, 3, 17]) {
    it(`${format} rows${decimals === undefined ? '' : ` with ${decimals} decimals`} are byte for byte the reference text`, () => {
      const rand = mulberry32(format.length * 100 + (decimals ?? 50));
      const part = (c: Case) => partFormat(c.spec).rows(c.batch, c.scores);
      for (let i = 0; i < 150; i++) {
        const c = randomCase(rand, format, decimals);
        const got = part(c);
        const expected = referenceBytes(c);
        if (!got.equals(expected)) assert.fail(`case ${i}: ${firstDifference(got, expected)}`);
      }
    });
  }
}

it('the benchmark workload (an id and a float32 score) is byte for byte the reference text, in batches that outgrow the first estimate', () => {
  const rand = mulberry32(5);
  for (const format of ['csv', 'jsonl'] as const) {
    const c = randomCase(rand, format, undefined);
    const rows = 20_000;
    const batch: ColumnarBatch = {
      rows,
      features: new Map(),
      ids: [Array.from({ length: rows }, (_, r) => (r % 1000 === 0 ? `r${r},${'é'.repeat(200)}` : `r${r}`))],
      passthrough: [],
      lines: [],
    };
    const spec = jobSpecSchema.parse({
      ...c.spec,
      input: { uri: 'in/', id: ['id'] },
      model: { ...c.spec.model, outputs: [{ name: 'score', columns: ['score'] }] },
    });
    const scores = [{ name: 'score', width: 1, values: Float32Array.from({ length: rows }, () => 1 / (1 + Math.exp(-(rand() * 20 - 10)))) }];
    const got = partFormat(spec).rows(batch, scores);
    assert.ok(got.equals(referenceBytes({ spec, batch, scores })), format);
  }
});

it('float32 scores written as bytes are the reference text for every kind of value', () => {
  const values = Float32Array.from(float32Cases());
  const rows = values.length;
  const spec = jobSpecSchema.parse({
    name: 'floats',
    model: { uri: 'model.onnx', inputs: [{ name: 'x', columns: ['f'] }], outputs: [{ name: 'score', columns: ['score'] }] },
    input: { uri: 'in/' },
    output: { uri: 'out/' },
  });
  const batch: ColumnarBatch = { rows, features: new Map(), ids: [], passthrough: [], lines: [] };
  const scores = [{ name: 'score', width: 1, values }];
  const got = partFormat(spec).rows(batch, scores);
  const expected = Buffer.from(referenceCsvRows(batch, scores, undefined), 'utf8');
  if (!got.equals(expected)) assert.fail(firstDifference(got, expected));
});

it('float32 scores with fixed decimals are the toFixed text for every kind of value, ties and signs included', () => {
  // Exact ties at every scale (toFixed takes the larger n, away from zero for negatives) and
  // values that round to zero from below (toFixed writes -0.00).
  const ties = Array.from({ length: 14 }, (_, d) => [0.5, 1.5, 2.5, 0.125, 0.375].map((t) => t / 10 ** d)).flat();
  const values = Float32Array.from([...float32Cases(), ...ties, ...ties.map((t) => -t), -0.001, -1e-9, 2 ** 31, 2147483.5, 99.9999]);
  const batch: ColumnarBatch = { rows: values.length, features: new Map(), ids: [], passthrough: [], lines: [] };
  const scores = [{ name: 'score', width: 1, values }];
  for (const decimals of [0, 1, 2, 4, 6, 9, 12, 13]) {
    const spec = jobSpecSchema.parse({
      name: 'fixed',
      model: { uri: 'model.onnx', inputs: [{ name: 'x', columns: ['f'] }], outputs: [{ name: 'score', columns: ['score'] }] },
      input: { uri: 'in/' },
      output: { uri: 'out/', decimals },
    });
    const got = partFormat(spec).rows(batch, scores);
    const expected = Buffer.from(referenceCsvRows(batch, scores, decimals), 'utf8');
    if (!got.equals(expected)) assert.fail(`decimals ${decimals}: ${firstDifference(got, expected)}`);
  }
});

it('each batch gets its own Buffer, so one handed to a stream is never overwritten', () => {
  const c = randomCase(mulberry32(9), 'csv', undefined);
  const format = partFormat(c.spec);
  const first = format.rows(c.batch, c.scores);
  const copy = Buffer.from(first);
  format.rows(c.batch, c.scores);
  assert.ok(first.equals(copy));
});

// ---------------------------------------------------------------------------
// Text cells kept as bytes (fast CSV path) = the same cells written from strings
// ---------------------------------------------------------------------------

/** A CSV cell as a file would hold it: quoted when it must be, and sometimes when it need not. */
function csvCell(rand: Rand, text: string, delimiter: string): string {
  const must = text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r');
  return must || rand() < 0.1 ? `"${text.replace(/"/g, '""')}"` : text;
}

for (const delimiter of [',', ';', '\t']) {
  it(`CSV parts from byte cells equal parts from strings (delimiter ${JSON.stringify(delimiter)})`, async () => {
    const { Readable } = await import('node:stream');
    const { readBatchEvents } = await import('../src/formats/csv/csv-batches.js');
    const rand = mulberry32(delimiter.charCodeAt(0));
    const spec = jobSpecSchema.parse({
      name: 'bytes',
      model: { uri: 'm.onnx', inputs: [{ name: 'x', columns: ['f'] }], outputs: [{ name: 's', columns: ['s'] }] },
      input: { uri: 'in/', id: ['id'], passthrough: ['note', 'g'], csv: { delimiter } },
      output: { uri: 'out/' },
      limits: { batchRows: 97 },
    });
    // Valid UTF-8 only: lone surrogates cannot be in a file (they would be rejected rows).
    const texts = SPECIAL_TEXT.filter((t) => !/[\ud800-\udfff]/.test(t.replace(/\ud83d\ude00/g, '')))
      .concat(['a;b', 'tab\there', '"', '""', ' ', 'Bits, Bytes & Co', 'Café "Zur Post"', '=HYPERLINK("x")'])
      // Formula-like or not (neutraliseFormula's DECIMAL test, redone on bytes).
      .concat([
        '-',
        '+',
        '-.',
        '-5.',
        '-.5',
        '-1e',
        '-1e+',
        '-1e+5',
        '+1E-7',
        '-0x1F',
        '-1,5',
        '+ 1',
        '-1e5x',
        '-١',
        '-5',
        '+.5e10',
        '-1.2.3',
        '@',
        '=',
        '-"q"',
        '+a,b',
        '\r\n',
        '-\n1',
      ]);
    const lines = [['id', 'note', 'f', 'g'].join(delimiter)];
    for (let r = 0; r < 1000; r++) {
      const id = rand() < 0.5 ? `r${r}` : pick(rand, texts);
      const cells = [id, pick(rand, texts), String(rand()), rand() < 0.5 ? `g${r % 7}` : pick(rand, texts)];
      lines.push(cells.map((c) => csvCell(rand, c, delimiter)).join(delimiter));
    }
    const format = partFormat(spec);
    let batches = 0;
    for await (const ev of readBatchEvents(Readable.from([Buffer.from(`${lines.join('\r\n')}\n`)]), 'bytes.csv', spec)) {
      assert.equal(ev.kind, 'batch', `row rejected: ${ev.kind === 'rejected' ? ev.row.detail : ''}`);
      if (ev.kind !== 'batch') continue;
      const batch = ev.batch;
      assert.ok(batch.textBytes, 'the fast path keeps text cells as bytes');
      const scores: ScoreColumns[] = [{ name: 's', width: 1, values: Float32Array.from({ length: batch.rows }, () => rand()) }];
      const fromStrings: ColumnarBatch = { rows: batch.rows, features: batch.features, ids: batch.ids, passthrough: batch.passthrough, lines: batch.lines };
      assert.equal(format.rows(batch, scores).toString('latin1'), format.rows(fromStrings, scores).toString('latin1'));
      assert.equal(format.rows(batch, scores).toString('utf8'), referenceCsvRows(fromStrings, scores, undefined));
      batches++;
    }
    assert.equal(batches, Math.ceil(1000 / 97));
  });
}
