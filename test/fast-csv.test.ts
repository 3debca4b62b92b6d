/**
 * The fast CSV path (scanner + byte-level float parsing + FastBatchBuilder) against the general
 * path (csv-parse records + BatchBuilder, run as scoreShard runs it): same batches (features bit
 * for bit), same rejected rows, same file-level errors, whatever the chunk boundaries.
 *
 *   node --import tsx --test test/fast-csv.test.ts
 *
 * Every case runs with csv.relaxQuotes off and on (csv-parse's relax_quotes on the general path).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createGunzip, gzipSync } from 'node:zlib';

import { InputError } from '../src/core/errors.js';
import type { FeatureArray, RejectedRow } from '../src/core/types.js';
import { readCsvRecords } from '../src/formats/csv/csv-reader.js';
import { fastPathApplies, readBatchEvents, type BatchEvent, type BatchEventOptions } from '../src/formats/csv/csv-batches.js';
import { parseDecimalFast, parseFloatBytes } from '../src/formats/csv/parse-float.js';
import { CsvScanner, type ScannedRecord } from '../src/formats/csv/scanner.js';
import { BatchBuilder } from '../src/formats/csv/batch-builder.js';
import { parseFloatCell } from '../src/formats/rows/parse-cell.js';
import { jobSpecSchema, type JobSpec } from '../src/spec/job-spec.js';
import { mulberry32 } from '../scripts/models/models.js';

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const HEADER = 'id,a,b,c,n,s,p';

/**
 * float32 [a,b] (missing rejects), float64 [c] (missing → NaN), int64 [n], string [s]; id, passthrough p.
 * `fused`: one float input [c,a,b] of that dtype instead (missing rejects for float32, → NaN for
 * float64), which the scanner fills itself while it scans (fast-batch-builder.ts, fused input).
 */
function makeSpec(
  opts: {
    batchRows?: number;
    maxRecordBytes?: number;
    delimiter?: string;
    quote?: string;
    encoding?: 'utf8' | 'latin1';
    relaxQuotes?: boolean;
    fused?: 'float32' | 'float64' | undefined;
    /** Feature columns that are also read as text: id a, passthrough b. */
    shared?: boolean;
  } = {},
): JobSpec {
  const floats = opts.fused
    ? [{ name: 'x', columns: ['c', 'a', 'b'], dtype: opts.fused, ...(opts.fused === 'float64' ? { missing: 'nan' } : {}) }]
    : [
        { name: 'x', columns: ['a', 'b'], dtype: 'float32' },
        { name: 'y', columns: ['c'], dtype: 'float64', missing: 'nan' },
      ];
  const spec = jobSpecSchema.parse({
    name: 'fast-csv-test',
    model: {
      uri: 'model.onnx',
      inputs: [...floats, { name: 'k', columns: ['n'], dtype: 'int64' }, { name: 't', columns: ['s'], dtype: 'string' }],
      outputs: [{ name: 'score', columns: ['score'] }],
    },
    input: {
      uri: 'in/',
      id: opts.shared ? ['id', 'a'] : ['id'],
      passthrough: opts.shared ? ['p', 'b'] : ['p'],
      csv: { delimiter: opts.delimiter ?? ',', quote: opts.quote ?? '"', encoding: opts.encoding ?? 'utf8', relaxQuotes: opts.relaxQuotes ?? false },
    },
    output: { uri: 'out/' },
    limits: { batchRows: opts.batchRows ?? 3 },
  });
  // Below the schema's minimum on purpose: small limits let small files reach them.
  return { ...spec, limits: { ...spec.limits, maxRecordBytes: opts.maxRecordBytes ?? 1024 * 1024 } };
}

type EventSnap =
  | { kind: 'batch'; features: Record<string, string | string[]>; ids: string[][]; passthrough: string[][]; lines: number[] }
  | { kind: 'rejected'; row: RejectedRow };
interface ErrorSnap {
  code: string;
  line: number | undefined;
  /** The message without its "object:line: " prefix. */
  reason: string;
}
interface Outcome {
  events: EventSnap[];
  error?: ErrorSnap;
}

/** Bit patterns, so NaN payloads and -0 count; strings as they are. */
function featureSnap(arr: FeatureArray): string | string[] {
  if (Array.isArray(arr)) return [...arr];
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength).toString('hex');
}

function eventSnap(e: BatchEvent): EventSnap {
  if (e.kind === 'rejected') return { kind: 'rejected', row: e.row };
  const features: Record<string, string | string[]> = {};
  for (const [name, arr] of e.batch.features) features[name] = featureSnap(arr);
  const { ids, passthrough, lines } = e.batch;
  return { kind: 'batch', features, ids, passthrough, lines };
}

function errorSnap(err: unknown): ErrorSnap {
  if (!(err instanceof InputError)) throw err;
  const code = /\[([A-Z_]+)\]$/.exec(err.message)?.[1] ?? 'INPUT';
  const reason = err.message.replace(/^[^:]*(:\d+)?: /, '');
  return { code, line: err.location.line, reason };
}

async function collect(events: AsyncIterable<BatchEvent>): Promise<Outcome> {
  const out: EventSnap[] = [];
  try {
    for await (const e of events) out.push(eventSnap(e));
    return { events: out };
  } catch (err) {
    return { events: out, error: errorSnap(err) };
  }
}

/** The general path, written here as scoreShard runs it (not through the code under test). */
function generalPath(file: Buffer, spec: JobSpec, header?: readonly string[]): AsyncGenerator<BatchEvent> {
  return generalStream(Readable.from([file]), spec, header);
}

async function* generalStream(stream: Readable, spec: JobSpec, header?: readonly string[]): AsyncGenerator<BatchEvent> {
  const records = readCsvRecords(stream, 'obj', spec.input.csv, spec.limits.maxRecordBytes);
  let builder = header ? new BatchBuilder(header, spec, 'obj', 0) : undefined;
  for await (const rec of records) {
    if (!builder) {
      builder = new BatchBuilder(rec.fields, spec, 'obj', rec.line);
      continue;
    }
    const rejected = builder.add(rec);
    if (rejected) yield { kind: 'rejected', row: rejected };
    else if (builder.full) yield { kind: 'batch', batch: builder.take() };
  }
  if (builder && builder.rows > 0) yield { kind: 'batch', batch: builder.take() };
}

function runGeneral(file: Buffer, spec: JobSpec, header?: readonly string[]): Promise<Outcome> {
  return collect(generalPath(file, spec, header));
}

function runFast(chunks: Buffer[], spec: JobSpec, options: BatchEventOptions = {}): Promise<Outcome> {
  assert.ok(fastPathApplies(spec));
  return collect(readBatchEvents(Readable.from(chunks), 'obj', spec, options));
}

/**
 * Asserts the fast outcome is the general one. When both fail, only the errors are compared:
 * csv-parse may drop records it parsed in the same chunk as the error.
 */
function assertSame(fast: Outcome, general: Outcome, what: string): void {
  if (fast.error || general.error) {
    assert.ok(
      fast.error && general.error,
      `${what}: one path failed, the other did not\nfast: ${JSON.stringify(fast.error)}\ngeneral: ${JSON.stringify(general.error)}`,
    );
    assert.equal(fast.error.code, general.error.code, `${what}: error code`);
    assert.equal(fast.error.reason, general.error.reason, `${what}: error message`);
    assert.equal(fast.error.line, general.error.line, `${what}: error line`);
    return;
  }
  assert.deepStrictEqual(fast, general, what);
}

/** The same outcome, as if the input had started `n` lines further down. */
function shifted(o: Outcome, n: number): Outcome {
  const events = o.events.map((e): EventSnap =>
    e.kind === 'batch' ? { ...e, lines: e.lines.map((l) => l + n) } : { kind: 'rejected', row: { ...e.row, line: e.row.line + n } },
  );
  return { events, ...(o.error ? { error: { ...o.error, line: (o.error.line ?? 0) + n } } : {}) };
}

function splitAt(file: Buffer, ...cuts: number[]): Buffer[] {
  const bounds = [0, ...cuts, file.length];
  return bounds
    .slice(1)
    .map((end, i) => file.subarray(bounds[i], end))
    .filter((b) => b.length > 0);
}

function randomChunks(file: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < file.length;) {
    const n = 1 + Math.floor(rand() * maxChunk);
    chunks.push(file.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

/** Records as the scanner sees them, for scanner-level checks. */
function scanAll(chunks: Buffer[], maxRecordBytes = 1 << 20): { records: { line: number; fields: string[]; raw: string }[]; error?: string } {
  const records: { line: number; fields: string[]; raw: string }[] = [];
  const scanner = new CsvScanner({ object: 'obj', delimiter: ',', quote: '"', maxRecordBytes }, (r: ScannedRecord) =>
    records.push({ line: r.line, fields: Array.from({ length: r.count }, (_, i) => r.text(i)), raw: r.rawText() }),
  );
  try {
    for (const c of chunks) scanner.push(c);
    scanner.end();
    return { records };
  } catch (err) {
    return { records, error: err instanceof Error ? err.message : String(err) };
  }
}

// ---------------------------------------------------------------------------
// parse-float
// ---------------------------------------------------------------------------

describe('parseFloatBytes', () => {
  const cases = [
    '0',
    '-0',
    '+0',
    '0.0',
    '-0.0e-5',
    '1',
    '+1',
    '-1',
    '.5',
    '5.',
    '-.5',
    '+.5e3',
    '1.5',
    '0.1',
    '0.2',
    '0.3',
    '123.4567',
    '-2.0001',
    '0000.5',
    '1e0',
    '1E5',
    '1e+5',
    '1e-5',
    '1e22',
    '1e23',
    '1e-22',
    '1e-23',
    '123456789012345',
    '1234567890123456',
    '9007199254740993',
    '123456789012345678901234567890',
    '0.000000000000000000000000001234',
    '3.4028234663852886e38',
    '3.4028235e38',
    '3.40282356e38',
    '3.4028236e38',
    '1e38',
    '1e39',
    '-1e39',
    '1e308',
    '1.7976931348623157e308',
    '1.7976931348623159e308',
    '1e309',
    '1e-38',
    '1e-40',
    '1.401298464324817e-45',
    '7.006492321624085e-46',
    '7.006492321624087e-46',
    '1e-46',
    '4.9406564584124654e-324',
    '2e-324',
    '1e-400',
    '0e999999999999',
    '1e0000000000000000005',
    '0.' + '0'.repeat(200000) + '1e200000',
    '16777217',
    '16777217.0',
    '0.1000000000000000055511151231257827',
    '2.00000011920928955078125',
    '2.0000001192092895507812500001',
    '',
    'NaN',
    'nan',
    'NAN',
    'NA',
    'N/A',
    'null',
    'NULL',
    'inf',
    '-inf',
    'Infinity',
    '-Infinity',
    '+INF',
    'infinity',
    '.',
    '+',
    '-',
    'e5',
    '.e5',
    '1e',
    '1e+',
    '1e-',
    '1..2',
    '1.2.3',
    '--1',
    '+-1',
    '1,5',
    ' 1',
    '1 ',
    '0x1F',
    '1_000',
    'é',
    '１',
    '1e5x',
    'abc',
  ];
  it('agrees with parseFloatCell bit for bit (float32 and float64, missing rejected or NaN)', () => {
    for (const text of cases) {
      const buf = Buffer.from(text);
      for (const float32 of [true, false]) {
        for (const allowNaN of [true, false]) {
          assert.deepStrictEqual(
            parseFloatBytes(buf, 0, buf.length, float32, allowNaN),
            parseFloatCell(text, float32, allowNaN),
            `${text} f32=${float32} nan=${allowNaN}`,
          );
        }
      }
    }
  });

  it('returns exactly Number(text) or declines, on random decimals', () => {
    const rand = mulberry32(7);
    const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rand() * 10))).join('');
    let fast = 0;
    for (let k = 0; k < 200_000; k++) {
      const sign = ['', '-', '+'][Math.floor(rand() * 3)] as string;
      const int = digits(Math.floor(rand() * 12));
      const frac = rand() < 0.7 ? `.${digits(Math.floor(rand() * 12))}` : '';
      const exp = rand() < 0.3 ? `e${['', '-', '+'][Math.floor(rand() * 3)]}${digits(1 + Math.floor(rand() * 2))}` : '';
      const text = `${sign}${int}${frac}${exp}`;
      const buf = Buffer.from(text);
      const v = parseDecimalFast(buf, 0, buf.length);
      if (Number.isNaN(v)) continue;
      fast++;
      assert.ok(Object.is(v, Number(text)), `${text}: ${v} vs ${Number(text)}`);
      assert.ok(Object.is(Math.fround(v), Math.fround(Number(text))), `${text} float32`);
    }
    assert.ok(fast > 100_000, `fast path taken ${fast} times`);
  });
});

// ---------------------------------------------------------------------------
// scanner
// ---------------------------------------------------------------------------

describe('CsvScanner', () => {
  it('counts physical lines, also when quoted fields hold \\r\\n or a lone \\r', () => {
    const file = Buffer.from('h\r\n"a\r\nb"\r\nc\r"x\ry"\nd\n"e\nf",g\r\n\r\nz');
    const { records } = scanAll([file]);
    assert.deepStrictEqual(
      records.map((r) => r.line),
      [1, 2, 4, 5, 7, 8, 11],
    );
    assert.deepStrictEqual(records[1]?.fields, ['a\r\nb']);
    assert.deepStrictEqual(records[3]?.fields, ['x\ry']);
  });

  it('names the line where the record holding an unclosed quote starts', () => {
    const { records, error } = scanAll([Buffer.from('h\n1\n"a\nb",2,"unclosed\n2\n3\n')]);
    assert.equal(records.length, 2);
    assert.equal(error, 'obj:3: a quoted field is never closed (unclosed quote); the rest of the file cannot be read [CSV_QUOTE_NOT_CLOSED]');
  });

  it('gives the same records for every split of a file into three chunks', () => {
    const file = Buffer.from('\uFEFFh,"q"\r\n"a""b",\r\r\n\n"x\r\ny",1\r"",,"é€"\n"a"\0z,2');
    const whole = scanAll([file]);
    assert.equal(whole.error, undefined);
    for (let i = 0; i <= file.length; i++) {
      for (let j = i; j <= file.length; j++) assert.deepStrictEqual(scanAll(splitAt(file, i, j)), whole, `cuts ${i},${j}`);
    }
  });

  it('applies limits.maxRecordBytes like csv-parse: content, not bytes on the wire', async () => {
    const spec = makeSpec({ maxRecordBytes: 1024 });
    const row = (cell: string): Buffer => Buffer.from(`${HEADER}\n1,1,2,3,4,${cell},p\n`);
    // csv-parse fails before appending a byte once the record already holds more than the limit.
    for (const cell of [
      'x'.repeat(1010),
      'x'.repeat(1011),
      'x'.repeat(1012),
      `"${'""'.repeat(505)}"`,
      `"${'""'.repeat(506)}"`,
      'é'.repeat(506),
      '😀'.repeat(300),
      ',"",'.repeat(300),
    ]) {
      const file = row(cell);
      const general = await runGeneral(file, spec);
      assertSame(await runFast([file], spec), general, `cell of ${cell.length} chars`);
      assertSame(await runFast(randomChunks(file, mulberry32(cell.length), 100), spec), general, `chunked, cell of ${cell.length} chars`);
    }
  });

  it('fails a runaway quote before the end of the input', () => {
    const records: number[] = [];
    const scanner = new CsvScanner({ object: 'obj', delimiter: ',', quote: '"', maxRecordBytes: 1024 }, (r) => records.push(r.line));
    scanner.push(Buffer.from('h\n"'));
    assert.throws(() => {
      for (let i = 0; i < 100; i++) scanner.push(Buffer.alloc(1000, 0x61));
    }, /CSV_MAX_RECORD_SIZE/);
  });
});

// ---------------------------------------------------------------------------
// differential: fixed tricky files
// ---------------------------------------------------------------------------

const TRICKY: Record<string, string> = {
  plain: `${HEADER}\n1,1.5,2.25,3,4,txt,p\n2,-1,0.5,1e3,-5,,q\n3,1,2,3,4,5,6\n`,
  crlf: `${HEADER}\r\n1,1.5,2,3,4,s,p\r\n2,3,4,5,6,s,p\r\n`,
  'lone cr': `${HEADER}\r1,1.5,2,3,4,s,p\r2,3,4,5,6,s,p`,
  'mixed endings and empty lines': `\n\r\n${HEADER}\n\n1,1,2,3,4,s,p\r\n\r\r\n2,3,4,5,6,s,p\r\n\n`,
  bom: `\uFEFF${HEADER}\n1,1,2,3,4,s,p\n`,
  quotes: `${HEADER}\n"1","1.5","2",3,4,"a,b","say ""hi"""\n2,"3","4e2","",5,"line\nbreak","x"\n3,"1""2",1,1,1,s,p\n`,
  'embedded newlines': `${HEADER}\n1,1,2,3,4,"a\nb\nc","d\r\ne"\n2,1,2,3,4,s,p\n`,
  'empty fields': `${HEADER}\n,,,,,,\n1,,2,,4,,\n2,1,2,,4,,\n`,
  numbers: `${HEADER}\n1,-0,+1,.5,1,s,p\n2,5.,1e-5,-0.0,1,s,p\n3,1E+3,0000.5,1e-320,1,s,p\n4,1e-46,1.4e-45,1e308,1,s,p\n5,3.4028235e38,-3.4028235e38,1e-400,1,s,p\n6,0.1,0.2,0.3,1,s,p\n`,
  'out of range': `${HEADER}\n1,1e39,1,1,1,s,p\n2,1,3.4028236e38,1,1,s,p\n3,1,1,1e309,1,s,p\n4,1,1,1,9223372036854775808,s,p\n`,
  'missing and nan tokens': `${HEADER}\n1,NaN,1,1,1,s,p\n2,1,1,NaN,1,s,p\n3,1,1,NA,1,s,p\n4,1,1,,1,s,p\n5,null,1,1,1,s,p\n6,1,1,1,,s,p\n`,
  'non finite': `${HEADER}\n1,inf,1,1,1,s,p\n2,1,-Infinity,1,1,s,p\n3,1,1,INF,1,s,p\n`,
  'not a number': `${HEADER}\n1,abc,1,1,1,s,p\n2,"1,5",1,1,1,s,p\n3, 1,1,1,1,s,p\n4,0x1F,1,1,1,s,p\n5,1,1,1,1.5,s,p\n6,é,1,1,1,s,p\n`,
  'field counts': `${HEADER}\n1,1,2\n2,1,2,3,4,s,p,extra\n\n3,1,2,3,4,s,p\n"",\n`,
  'multibyte text': `${HEADER}\n1,1,2,3,4,"Café ""Zur Post""",😀\n2,1,2,3,4,€uro,日本\n`,
  'nul after closing quote': `${HEADER}\n1,"1"\0,2,3,4,s,p\n2,1,2,3,4,"s"\0x,p\n`,
  'no final newline': `${HEADER}\n1,1,2,3,4,s,"p"`,
  'header only': `${HEADER}\n`,
  empty: '',
  'only empty lines': '\n\r\n\r',
  'unclosed quote': `${HEADER}\n1,1,2,3,4,s,p\n2,"1,2,3,4,s,p\n3,1,2,3,4,s,p\n`,
  'bad closing quote': `${HEADER}\n1,1,2,3,4,s,p\n2,"1"x,2,3,4,s,p\n`,
  'quote inside a field': `${HEADER}\n1,1,2,3,4,s,p\n2,1,2,3,4,ab"c,p\n`,
  'quotes inside fields (relaxQuotes keeps them)': `${HEADER}\n1,1,2,3,4,37°36'37.8"N,p"\n2,1.5"",2,3,4,a""b,"q"\n3,1,2,3,4,"ab"c,"a""b"c""\n4,1,2,3,4,"s"\0x"y,"x\ny"z\n5,1,2,3,4,s,p""\n`,
  'missing column': 'id,a,c,n,s,p\n1,1,2,3,4,5\n',
  'duplicated column': `${HEADER},a\n1,1,2,3,4,s,p,1\n`,
};

describe('fast path = general path on tricky files', () => {
  for (const [name, text] of Object.entries(TRICKY)) {
    it(name, async () => {
      const file = Buffer.from(text);
      for (const fused of [undefined, 'float32', 'float64'] as const) {
        for (const relaxQuotes of [false, true]) {
          const spec = makeSpec({ relaxQuotes, fused });
          const general = await runGeneral(file, spec);
          const what = `relaxQuotes ${relaxQuotes}, fused ${fused ?? 'no'}`;
          assertSame(await runFast([file], spec), general, `one chunk, ${what}`);
          assertSame(await runFast(randomChunks(file, mulberry32(1), 1), spec), general, `one-byte chunks, ${what}`);
          assertSame(await runFast(randomChunks(file, mulberry32(2), 7), spec), general, `small chunks, ${what}`);
        }
      }
    });
  }

  it('U+FFFD written as such (EF BF BD) is text; only bytes that are not UTF-8 are invalid_utf8', async () => {
    const file = Buffer.concat([
      Buffer.from(`${HEADER}\n1,1,2,3,4,a\uFFFDb,p\n2,1,2,3,4,"\uFFFD",`),
      Buffer.from([0xff]),
      Buffer.from(`\n3,1,2,3,4,`),
      Buffer.from([0xe2, 0x82]),
      Buffer.from(`,\uFFFD\n`),
    ]);
    const spec = makeSpec({ batchRows: 10 });
    const general = await runGeneral(file, spec);
    assertSame(await runFast([file], spec), general, 'one chunk');
    for (let i = 0; i <= file.length; i++) assertSame(await runFast(splitAt(file, i), spec), general, `split at ${i}`);
    const rejected = general.events.flatMap((e) => (e.kind === 'rejected' ? [[e.row.line, e.row.column, e.row.reason]] : []));
    assert.deepStrictEqual(rejected, [
      [3, 'p', 'invalid_utf8'],
      [4, 's', 'invalid_utf8'],
    ]);
    const batch = general.events.find((e) => e.kind === 'batch');
    assert.ok(batch?.kind === 'batch');
    assert.deepStrictEqual(batch.features.t, ['a\uFFFDb']);
  });

  it('the general path (a delimiter the fast path does not read) judges the bytes too', async () => {
    const file = Buffer.concat([Buffer.from('id¦a¦b¦c¦n¦s¦p\n1¦1¦2¦3¦4¦\uFFFD¦p\n2¦1¦2¦3¦4¦"x'), Buffer.from([0xc3]), Buffer.from('y"¦\uFFFD\n')]);
    const spec = makeSpec({ delimiter: '¦', batchRows: 10 });
    assert.equal(fastPathApplies(spec), false);
    for (const chunks of [[file], randomChunks(file, mulberry32(5), 3)]) {
      const out = await collect(readBatchEvents(Readable.from(chunks), 'obj', spec));
      const rejected = out.events.flatMap((e) => (e.kind === 'rejected' ? [[e.row.line, e.row.column, e.row.reason]] : []));
      assert.deepStrictEqual(rejected, [[3, 's', 'invalid_utf8']]);
      assert.equal(out.events.filter((e) => e.kind === 'batch').length, 1);
    }
  });

  it('relaxQuotes keeps a bare quote as text; without it the file fails naming the line', async () => {
    const file = Buffer.from(`id,a,b,c,n,s,p\n1,1,2,3,4,37°36'37.8"N,p\n2,1,2,3,4,"a,b"x,"q"\n`);
    const strict = await runFast([file], makeSpec());
    assert.equal(strict.error?.line, 2);
    assert.match(strict.error?.reason ?? '', /relaxQuotes/);
    const relaxed = await runFast([file], makeSpec({ relaxQuotes: true, batchRows: 10 }));
    assert.equal(relaxed.error, undefined);
    const batch = relaxed.events[0];
    assert.ok(batch?.kind === 'batch');
    assert.deepStrictEqual(batch.features.t, ['37°36\'37.8"N', '"a,b"x']);
  });

  it('at every chunk boundary of a small file', async () => {
    const file = Buffer.from(
      `\uFEFF${HEADER}\r\n1,"1.5",-0,.5e1,7,"a,""b""\r\nc",p\n\n2,1e39,1,1,1,s,p\r3,1,2\r\n4,"1""2",1,NaN,1,é,"😀"\r\n5,1,2,3,4,"s"\0,p`,
    );
    for (const fused of [undefined, 'float32', 'float64'] as const) {
      const spec = makeSpec({ batchRows: 2, fused });
      const general = await runGeneral(file, spec);
      assert.equal(general.error, undefined);
      for (let i = 0; i <= file.length; i++) assertSame(await runFast(splitAt(file, i), spec), general, `split at ${i}, fused ${fused ?? 'no'}`);
    }
  });

  it('with another delimiter and quote', async () => {
    const file = Buffer.from(`id;a;b;c;n;s;p\n1;'1.5';2;3;4;'a;''b''';p\n2;1,5;2;3;4;s;p\n`);
    const spec = makeSpec({ delimiter: ';', quote: "'" });
    const general = await runGeneral(file, spec);
    assertSame(await runFast([file], spec), general, 'semicolon and single quote');
  });

  it('with a delimiter or quote that numbers are written with (a digit, "." or "-")', async () => {
    for (const [delimiter, quote] of [
      ['.', '"'],
      ['-', '"'],
      ['5', '"'],
      [',', '-'],
      [',', '.'],
      [',', '1'],
    ] as const) {
      const q = (t: string): string => `${quote}${t}${quote}`;
      const rows = [
        `1${delimiter}2${delimiter}3${delimiter}4${delimiter}7${delimiter}s${delimiter}p`,
        `2${delimiter}${q('1.5')}${delimiter}-2${delimiter}.25${delimiter}7${delimiter}s${delimiter}p`,
      ];
      const file = Buffer.from(
        [HEADER.replaceAll(',', delimiter), ...rows, `3${delimiter}-1.5${delimiter}10${delimiter}1.${delimiter}7${delimiter}s${delimiter}p`, ''].join('\n'),
      );
      for (const fused of [undefined, 'float32', 'float64'] as const) {
        const spec = makeSpec({ delimiter, quote, fused });
        assertSame(await runFast([file], spec), await runGeneral(file, spec), `delimiter ${delimiter} quote ${quote}, fused ${fused ?? 'no'}`);
      }
    }
  });

  it('routes inputs the fast path does not read to the general path', async () => {
    const latin1 = makeSpec({ encoding: 'latin1' });
    assert.equal(fastPathApplies(latin1), false);
    const file = Buffer.from(`${HEADER}\n1,1,2,3,4,caf\xe9,p\n`, 'latin1');
    assert.deepStrictEqual(await collect(readBatchEvents(Readable.from([file]), 'obj', latin1)), await runGeneral(file, latin1));
    // A UTF-16LE BOM makes csv-parse read UTF-16 even when the job says utf8.
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\n1,1,2,3,4,s,p\n`, 'utf16le')]);
    const spec = makeSpec();
    const general = await runGeneral(utf16, spec);
    assert.equal(general.events.length, 1);
    assert.deepStrictEqual(await runFast(randomChunks(utf16, mulberry32(3), 2), spec), general);
  });

  it('counts physical lines like the general path when quoted fields hold \\r\\n or \\r', async () => {
    const file = Buffer.from(`${HEADER}\r\n1,1,2,3,4,"a\r\nb",p\r\n2,x,2,3,4,s,"\r"\r\n3,1,2,3,4,s,p\r\n4,1,2,3,4,"\r\r`);
    const spec = makeSpec({ batchRows: 10 });
    const fast = await runFast([file], spec);
    assertSame(fast, await runGeneral(file, spec), 'one chunk');
    assert.deepStrictEqual(fast.error, {
      code: 'CSV_QUOTE_NOT_CLOSED',
      line: 7,
      reason: 'a quoted field is never closed (unclosed quote); the rest of the file cannot be read [CSV_QUOTE_NOT_CLOSED]',
    });
  });

  it('reads a byte range: given header, lines counted from the start of the object', async () => {
    const header = HEADER.split(',');
    const spec = makeSpec({ batchRows: 2 });
    for (const text of [TRICKY.quotes, TRICKY.numbers, TRICKY['field counts'], TRICKY['bad closing quote']]) {
      const body = Buffer.from((text as string).slice(HEADER.length + 1));
      const general = shifted(await runGeneral(body, spec, header), 41);
      assertSame(await runFast(randomChunks(body, mulberry32(body.length), 9), spec, { header, linesBefore: 41 }), general, 'range');
      // The general path behind readBatchEvents (here for latin1) shifts lines the same way.
      const latin1 = makeSpec({ batchRows: 2, encoding: 'latin1' });
      const viaDriver = await collect(readBatchEvents(Readable.from([body]), 'obj', latin1, { header, linesBefore: 41 }));
      assert.deepStrictEqual(viaDriver, shifted(await runGeneral(body, latin1, header), 41));
    }
  });

  it('fails a truncated gzip stream like the general path', async () => {
    const spec = makeSpec();
    const gz = gzipSync(Buffer.from(`${HEADER}\n${'1,1,2,3,4,s,p\n'.repeat(2000)}`));
    for (const cut of [5, gz.length - 8]) {
      const truncated = (): Readable => Readable.from([gz.subarray(0, cut)]).pipe(createGunzip());
      const general = await collect(generalStream(truncated(), spec));
      const fast = await collect(readBatchEvents(truncated(), 'obj', spec));
      assert.equal(general.error?.reason, 'the gzip stream is truncated or corrupt (Z_BUF_ERROR)');
      assert.deepStrictEqual(fast.error, general.error);
    }
  });

  it('reads files without a header row (csv.header false, csv.columns)', async () => {
    const base = makeSpec();
    const spec = { ...base, input: { ...base.input, csv: { ...base.input.csv, header: false, columns: HEADER.split(',') } } };
    const body = Buffer.from((TRICKY.quotes as string).slice(HEADER.length + 1));
    assertSame(await runFast([body], spec), await runGeneral(body, spec, HEADER.split(',')), 'no header row');
  });
});

// ---------------------------------------------------------------------------
// differential: seeded fuzz
// ---------------------------------------------------------------------------

/** Random small CSVs mixing valid and invalid cells, quoting, endings and broken rows. */
class CsvFuzzer {
  private rawChance = 0.04;

  constructor(private readonly rand: () => number) {}

  /** Up to maxRows rows; rawChance: how often a row gets a raw (often malformed) cell. */
  file(maxRows = 8, rawChance = 0.04): Buffer {
    this.rawChance = rawChance;
    const parts: Buffer[] = [];
    if (this.chance(0.15)) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
    const rows = Math.floor(this.rand() * maxRows);
    parts.push(Buffer.from(HEADER));
    for (let r = 0; r < rows; r++) {
      parts.push(Buffer.from(this.ending()));
      while (this.chance(0.1)) parts.push(Buffer.from(this.ending()));
      parts.push(this.row(r));
    }
    if (this.chance(0.7)) parts.push(Buffer.from(this.ending()));
    return Buffer.concat(parts);
  }

  private row(r: number): Buffer {
    const cells: Buffer[] = [
      this.quoteMaybe(Buffer.from(String(r))),
      this.numberCell(),
      this.numberCell(),
      this.numberCell(),
      this.quoteMaybe(Buffer.from(this.pick(['1', '-7', '', '1.5', '9223372036854775807', '9223372036854775808', 'x']))),
      this.textCell(),
      this.textCell(),
    ];
    if (this.chance(0.05)) cells.splice(Math.floor(this.rand() * cells.length), 1);
    if (this.chance(0.05)) cells.push(this.textCell());
    if (this.chance(this.rawChance)) cells[Math.floor(this.rand() * cells.length)] = Buffer.from(this.pick(RAW_CELLS));
    return Buffer.concat(cells.flatMap((c, i) => (i === 0 ? [c] : [Buffer.from(','), c])));
  }

  private numberCell(): Buffer {
    const text = this.chance(0.6) ? this.decimal() : this.pick(NUMBER_TOKENS);
    return this.quoteMaybe(Buffer.from(text));
  }

  private decimal(): string {
    const digits = (max: number): string => Array.from({ length: Math.floor(this.rand() * max) }, () => String(Math.floor(this.rand() * 10))).join('');
    const sign = this.pick(['', '', '-', '+']);
    const int = digits(this.chance(0.1) ? 22 : 5);
    const frac = this.chance(0.6) ? `.${digits(this.chance(0.1) ? 22 : 5)}` : '';
    const exp = this.chance(0.25) ? `${this.pick(['e', 'E'])}${this.pick(['', '-', '+'])}${this.chance(0.1) ? '3' + digits(3) : digits(3) || '0'}` : '';
    return `${sign}${int}${frac}${exp}`;
  }

  private textCell(): Buffer {
    const n = Math.floor(this.rand() * 6);
    const pieces = Array.from({ length: n }, () => this.pick(TEXT_PIECES));
    return this.quoteMaybe(Buffer.concat(pieces));
  }

  /** Quotes when it must (delimiter, quote, CR, LF), and sometimes when it need not. */
  private quoteMaybe(content: Buffer): Buffer {
    const must = content.some((b) => b === 0x2c || b === 0x22 || b === 0x0d || b === 0x0a);
    // A field starting with a quote must be quoted too; a leading NUL-free field is fine as is.
    if (!must && !this.chance(0.15)) return content;
    const escaped = Buffer.from(content.toString('latin1').replace(/"/g, '""'), 'latin1');
    return Buffer.concat([Buffer.from('"'), escaped, Buffer.from('"')]);
  }

  private ending(): string {
    return this.pick(['\n', '\n', '\r\n', '\r']);
  }

  private chance(p: number): boolean {
    return this.rand() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)] as T;
  }
}

const NUMBER_TOKENS = [
  '',
  'NaN',
  'nan',
  'NA',
  'N/A',
  'null',
  'inf',
  '-Infinity',
  'INF',
  'abc',
  '1,5',
  ' 1',
  '1 ',
  '0x1F',
  '1_0',
  'é',
  '１',
  '1e',
  '.',
  '+',
  '--1',
  '-0',
  '-0.0e-5',
  '.5',
  '5.',
  '+.5',
  '3.4028235e38',
  '3.4028236e38',
  '1e39',
  '-1e39',
  '1e-46',
  '1.4e-45',
  '1e-40',
  '1e-400',
  '1e310',
  '1.7976931348623157e308',
  '9007199254740993',
  '123456789012345678901234567890',
  '0.1',
  '0000.5',
  '1e0000000000000000003',
];
const TEXT_PIECES = ['a', 'b', 'xyz', ' ', ',', '"', '""', '\n', '\r\n', '\r', 'é', '€', '😀', '\uFFFD', '\0', '\t', ';']
  .map((s) => Buffer.from(s))
  .concat([Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9f])]);
/** Cells written as they are: quoting mistakes and csv-parse oddities. */
const RAW_CELLS = ['"ab"c', 'a"b', '"ab"\0x', '"ab', '"a""b"', '""', '""""', '"\r\n"', '"1"\0', '"', 'x"'];

/** Half the fuzzed specs have one float input, which the scanner writes into itself (fused). */
function randomFused(rand: () => number): 'float32' | 'float64' | undefined {
  const r = rand();
  return r < 0.5 ? undefined : r < 0.8 ? 'float32' : 'float64';
}

describe('fuzz: fast path = general path', () => {
  it('on 2000 random files, whole and in random chunks', async () => {
    const rand = mulberry32(20251128);
    const fuzzer = new CsvFuzzer(rand);
    const seen = { errors: new Map<string, number>(), rejected: new Map<string, number>(), batches: 0 };
    for (let k = 0; k < 2000; k++) {
      const file = fuzzer.file();
      const maxRecordBytes = rand() < 0.2 ? 12 + Math.floor(rand() * 60) : 1 << 20;
      // Every third file also reads feature columns as text (fused cells whose bytes are kept).
      const spec = makeSpec({
        batchRows: 1 + Math.floor(rand() * 4),
        maxRecordBytes,
        relaxQuotes: rand() < 0.3,
        fused: randomFused(rand),
        shared: k % 3 === 0,
      });
      const general = await runGeneral(file, spec);
      const what = `file #${k}: ${JSON.stringify(file.toString('latin1'))} maxRecordBytes=${maxRecordBytes} relaxQuotes=${spec.input.csv.relaxQuotes} inputs=${spec.model.inputs.length}`;
      assertSame(await runFast([file], spec), general, what);
      assertSame(await runFast(randomChunks(file, rand, 1 + Math.floor(rand() * 40)), spec), general, `${what} (chunked)`);
      if (general.error) seen.errors.set(general.error.code, (seen.errors.get(general.error.code) ?? 0) + 1);
      for (const e of general.events) {
        if (e.kind === 'batch') seen.batches++;
        else seen.rejected.set(e.row.reason, (seen.rejected.get(e.row.reason) ?? 0) + 1);
      }
    }
    // The grammar must actually reach the cases it is meant to.
    for (const code of ['CSV_QUOTE_NOT_CLOSED', 'CSV_INVALID_CLOSING_QUOTE', 'INVALID_OPENING_QUOTE', 'CSV_MAX_RECORD_SIZE']) {
      assert.ok((seen.errors.get(code) ?? 0) > 0, `no file failed with ${code}`);
    }
    for (const reason of ['field_count', 'invalid_utf8', 'missing_value', 'not_a_number', 'non_finite', 'out_of_range', 'not_an_integer']) {
      assert.ok((seen.rejected.get(reason) ?? 0) > 0, `no row rejected for ${reason}`);
    }
    assert.ok(seen.batches > 200, `only ${seen.batches} batches`);
  });

  // Files of several KiB, so that records are cut by chunk boundaries far from the end of the
  // input (the scanner joins a cut record with a prefix of the next chunks, then goes on in place).
  it('on 100 larger files in chunks of every size', async () => {
    const rand = mulberry32(4242);
    const fuzzer = new CsvFuzzer(rand);
    let failed = 0;
    for (let k = 0; k < 100; k++) {
      const file = fuzzer.file(400, 0.002);
      const maxRecordBytes = rand() < 0.2 ? 40 + Math.floor(rand() * 160) : 1 << 20;
      const spec = makeSpec({
        batchRows: 1 + Math.floor(rand() * 50),
        maxRecordBytes,
        relaxQuotes: rand() < 0.3,
        fused: randomFused(rand),
        shared: k % 3 === 0,
      });
      const general = await runGeneral(file, spec);
      if (general.error) failed++;
      const what = `large file #${k} (${file.length} bytes) maxRecordBytes=${maxRecordBytes} relaxQuotes=${spec.input.csv.relaxQuotes} inputs=${spec.model.inputs.length}`;
      for (const maxChunk of [64, 1000, 9000]) assertSame(await runFast(randomChunks(file, rand, maxChunk), spec), general, `${what}, chunks ≤ ${maxChunk}`);
    }
    assert.ok(failed > 5 && failed < 95, `${failed} of 100 large files failed: the mix is off`);
  });
});
