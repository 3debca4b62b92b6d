/**
 * CSV edge cases through the real pipeline: each test writes a job, a generated MLP model and
 * an input file into its own temp folder, runs scoreRun on the local filesystem, and reads the
 * part, errors file, report and _SUCCESS back. Accepted rows must score exactly as a direct
 * onnxruntime session.run scores them; rejected rows must be in the errors file with the line
 * where their record starts.
 *
 *   node --import tsx --test test/csv-edge-cases.test.ts
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InputError } from '../src/core/errors.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import {
  assertMlpPart,
  csvObjects,
  csvRecord,
  fixture,
  mlpRows,
  mlpSpec,
  MLP_HEADER,
  parseCsv,
  parseErrors,
  readOutput,
  runJob,
  toCsv,
  type ErrorRow,
  type Fixture,
  type RunOutput,
} from './helpers/jobs.js';

const HEADER = MLP_HEADER.join(',');

interface Scored {
  readonly fx: Fixture;
  readonly out: RunOutput;
  readonly result: Awaited<ReturnType<typeof runJob>>;
  /** Absolute path of the input file, as it appears in errors and messages. */
  readonly source: string;
}

/** Writes `content` as the only input file (`name`), runs the job, and reads the outputs back. */
async function score(t: TestContext, content: string | Uint8Array, options: { name?: string; spec?: JobSpecInput } = {}): Promise<Scored> {
  const name = options.name ?? 'data.csv';
  const fx = await fixture(t, { files: { [name]: content }, ...(options.spec ? { spec: options.spec } : {}) });
  const result = await runJob(fx.job);
  const out = await readOutput(fx.outputDir);
  return { fx, out, result, source: path.join(fx.inputDir, name) };
}

async function errorsOf(s: Scored): Promise<ErrorRow[]> {
  assert.equal(s.out.errors.length, 1, `expected one errors file; outputs: ${s.out.names.join(', ')}`);
  const [name] = s.out.errors as [string];
  assert.match(name, /^_errors\/errors-00000[-.].*csv$/);
  assert.deepEqual(s.out.report?.output.errors, [name], 'the report lists the errors file');
  return parseErrors(await s.out.text(name));
}

function assertSucceeded(s: Scored, rows: { read: number; scored: number; rejected: number }, ext = 'csv'): void {
  const r = s.out.report;
  assert.ok(r, 'a report is written');
  assert.equal(r.status, 'succeeded', r.reason);
  assert.deepEqual({ read: r.rows.read, scored: r.rows.scored, rejected: r.rows.rejected }, rows);
  assert.equal(r.rows.reconciled, true);
  assert.ok(s.out.success, '_SUCCESS is published');
  assert.equal(s.out.success.rows, rows.scored);
  assert.equal(s.out.parts.length, 1, `one part: ${s.out.names.join(', ')}`);
  assert.match(s.out.parts[0] ?? '', new RegExp(`^part-00000[-.].*\\.${ext}$`));
  assert.deepEqual(s.out.success.parts, s.out.parts, '_SUCCESS lists the part');
  assert.deepEqual(r.output.parts, s.out.parts, 'the report lists the part');
}

/** A failed run: report says why, no part and no _SUCCESS are visible (errors files may stay). */
function assertFailed(s: Scored, reason: RegExp): void {
  const r = s.out.report;
  assert.ok(r, 'a report is written for a failed run');
  assert.equal(r.status, 'failed');
  assert.match(r.reason ?? '', reason);
  assert.equal(s.out.success, undefined, 'no _SUCCESS');
  assert.deepEqual(
    s.out.names.filter((n) => n.startsWith('part-')),
    [],
    'no part is published',
  );
  assert.deepEqual(r.output.parts, []);
  assert.deepEqual(
    s.out.names.filter((n) => n.includes('.nightshift-tmp-')),
    [],
    'no temp files left behind',
  );
}

/** The input file's InputError: names the file and (when given) the line where the record starts. */
function assertInputError(s: Scored, line: number | undefined, reason: RegExp): void {
  const err = s.result.inputError;
  assert.ok(err instanceof InputError, 'the run reports an InputError');
  assert.equal(err.location.object, s.source);
  assert.equal(err.location.line, line);
  assert.ok(err.message.startsWith(line === undefined ? `${s.source}: ` : `${s.source}:${line}: `), err.message);
  assert.match(err.message, reason);
  assertFailed(s, reason);
}

describe('CSV encodings and line endings', () => {
  it('a UTF-8 BOM before the header does not end up in the first column name', async (t) => {
    const rows = mlpRows(20);
    const s = await score(t, `\ufeff${toCsv(MLP_HEADER, rows)}`);
    assertSucceeded(s, { read: 20, scored: 20, rejected: 0 });
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows);
  });

  it('CRLF line endings; a rejected row reports its line', async (t) => {
    const rows = mlpRows(10);
    const bad = (rows[4] as string[]).slice(0, -1);
    const text = [HEADER, ...rows.map((r, i) => csvRecord(i === 4 ? bad : r))].join('\r\n') + '\r\n';
    const s = await score(t, text);
    assertSucceeded(s, { read: 10, scored: 9, rejected: 1 });
    const errors = await errorsOf(s);
    assert.deepEqual(
      errors.map((e) => [e.line, e.reason, e.record]),
      [[6, 'field_count', csvRecord(bad)]],
    );
    await assertMlpPart(
      s.fx.model,
      await s.out.onlyPart(),
      rows.filter((_, i) => i !== 4),
    );
  });

  it('mixed \\r\\n, \\n and \\r line endings in one file', async (t) => {
    const rows = mlpRows(8);
    (rows[5] as string[])[4] = 'abc';
    const eols = ['\r\n', '\n', '\r'];
    const text = [HEADER, ...rows.map(csvRecord)].map((l, i) => l + eols[i % 3]).join('');
    const s = await score(t, text);
    assertSucceeded(s, { read: 8, scored: 7, rejected: 1 });
    const errors = await errorsOf(s);
    assert.deepEqual(
      errors.map((e) => [e.line, e.reason, e.column, e.id]),
      [[7, 'not_a_number', 'f2', 'r5']],
    );
    await assertMlpPart(
      s.fx.model,
      await s.out.onlyPart(),
      rows.filter((_, i) => i !== 5),
    );
  });

  it('gzip input is read transparently', async (t) => {
    const rows = mlpRows(300);
    const s = await score(t, gzipSync(toCsv(MLP_HEADER, rows)), { name: 'data.csv.gz' });
    assertSucceeded(s, { read: 300, scored: 300, rejected: 0 });
    assert.ok((s.out.report?.input.objects[0]?.bytes ?? 0) > 0);
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows);
  });

  it('a truncated gzip file fails the run with a clear error', async (t) => {
    const gz = gzipSync(toCsv(MLP_HEADER, mlpRows(3000)));
    const s = await score(t, gz.subarray(0, Math.floor(gz.length / 2)), { name: 'data.csv.gz' });
    assertInputError(s, undefined, /gzip stream is truncated or corrupt/);
  });

  it('a .gz name on plain text fails the run with a clear error', async (t) => {
    const s = await score(t, toCsv(MLP_HEADER, mlpRows(5)), { name: 'data.csv.gz' });
    assertInputError(s, undefined, /name ends in \.gz but the content is not gzip/);
  });
});

describe('CSV quoting', () => {
  for (const [label, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ] as const) {
    it(`quoted commas and line breaks (${label} file): rows score, errors point at the record's start line`, async (t) => {
      const rows = mlpRows(7);
      const notes = ['a, b', 'two\nlines', 'crlf\r\ninside\r\nquotes', 'lone\rcr', 'fine', 'bad\nrow', 'last'];
      rows.forEach((r, i) => (r[1] = notes[i] as string));
      (rows[4] as string[])[2] = 'x'; // f0 not a number, record on one line
      const shortRow = (rows[5] as string[]).slice(0, -1); // field count, record spans two lines
      const text = toCsv(
        MLP_HEADER,
        rows.map((r, i) => (i === 5 ? shortRow : r)),
        eol,
      );
      // Physical lines: header 1, r0 2, r1 3-4, r2 5-7, r3 8-9, r4 10, r5 11-12, r6 13.
      const s = await score(t, text);
      assertSucceeded(s, { read: 7, scored: 5, rejected: 2 });
      const errors = await errorsOf(s);
      assert.deepEqual(
        errors.map((e) => [e.line, e.reason, e.column, e.id]),
        [
          [10, 'not_a_number', 'f0', 'r4'],
          [11, 'field_count', '', 'r5'],
        ],
      );
      assert.equal(errors[1]?.record, csvRecord(shortRow), 'the raw record, quotes and line break included');
      await assertMlpPart(
        s.fx.model,
        await s.out.onlyPart(),
        rows.filter((_, i) => i !== 4 && i !== 5),
      );
    });
  }

  it('doubled quotes inside quoted fields', async (t) => {
    const rows = mlpRows(4);
    rows.forEach((r, i) => (r[1] = ['Café "Zur Post"', '"quoted"', 'say ""hi""', '"'][i] as string));
    const text = toCsv(MLP_HEADER, rows);
    assert.ok(text.includes('"Café ""Zur Post"""'), 'the fixture really has doubled quotes');
    const s = await score(t, text);
    assertSucceeded(s, { read: 4, scored: 4, rejected: 0 });
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows);
  });

  it('an unclosed quote fails the run, naming the file and the line where the record starts', async (t) => {
    const rows = mlpRows(6);
    const good = toCsv(MLP_HEADER, mlpRows(5, { idPrefix: 'a' }));
    const lines = [HEADER, ...rows.map(csvRecord)];
    lines[4] = lines[4]?.replace(',note 3,', ',"note 3,') ?? ''; // record r3, line 5, quote never closed
    const fx = await fixture(t, { files: { 'a.csv': good, 'b.csv': `${lines.join('\n')}\n` } });
    const result = await runJob(fx.job);
    const out = await readOutput(fx.outputDir);
    const s: Scored = { fx, out, result, source: path.join(fx.inputDir, 'b.csv') };
    assertInputError(s, 5, /unclosed quote/);
    assert.deepEqual(out.names, ['_report.json'], 'the part of the good first file is withdrawn too');
    assert.equal(out.report?.reason, result.inputError?.message);
  });

  it('a record longer than limits.maxRecordBytes fails the run at that record', async (t) => {
    const rows = mlpRows(4);
    (rows[1] as string[])[1] = 'x'.repeat(3000);
    const spec = mlpSpec();
    spec.limits = { maxRecordBytes: 1024, maxErrorRate: 0.5 };
    const s = await score(t, toCsv(MLP_HEADER, rows), { spec });
    assertInputError(s, 3, /longer than limits\.maxRecordBytes/);
  });
});

describe('CSV shapes', () => {
  it('empty lines are skipped and do not count as rows; line numbers still match the file', async (t) => {
    const rows = mlpRows(3);
    (rows[2] as string[])[9] = '';
    const text = `${HEADER}\n\n${csvRecord(rows[0] as string[])}\n\n\n${csvRecord(rows[1] as string[])}\n${csvRecord(rows[2] as string[])}\n\n`;
    const s = await score(t, text);
    assertSucceeded(s, { read: 3, scored: 2, rejected: 1 });
    assert.deepEqual(
      (await errorsOf(s)).map((e) => [e.line, e.reason, e.column]),
      [[7, 'missing_value', 'f7']],
    );
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows.slice(0, 2));
  });

  it('a header-only file: 0 rows, the run succeeds, the part has the header', async (t) => {
    const s = await score(t, `${HEADER}\n`);
    assertSucceeded(s, { read: 0, scored: 0, rejected: 0 });
    assert.equal(await s.out.onlyPart(), 'id,note,score\n');
  });

  it('an empty file: 0 rows, the run succeeds, the part has the header', async (t) => {
    const s = await score(t, '');
    assertSucceeded(s, { read: 0, scored: 0, rejected: 0 });
    assert.equal(await s.out.onlyPart(), 'id,note,score\n');
  });

  it('wrong field counts reject the row; the errors file has source, line, reason and the raw record', async (t) => {
    const rows = mlpRows(6);
    const short = (rows[1] as string[]).slice(0, -2);
    const long = [...(rows[3] as string[]), '99'];
    const text = toCsv(
      MLP_HEADER,
      rows.map((r, i) => (i === 1 ? short : i === 3 ? long : r)),
    );
    const s = await score(t, text);
    assertSucceeded(s, { read: 6, scored: 4, rejected: 2 });
    assert.deepEqual(s.out.report?.rows.rejectedByReason, { field_count: 2 });
    assert.deepEqual(await errorsOf(s), [
      { source: s.source, line: 3, column: '', reason: 'field_count', detail: 'expected 10 fields, found 8', id: 'r1', record: csvRecord(short) },
      { source: s.source, line: 5, column: '', reason: 'field_count', detail: 'expected 10 fields, found 11', id: 'r3', record: csvRecord(long) },
    ]);
    await assertMlpPart(
      s.fx.model,
      await s.out.onlyPart(),
      rows.filter((_, i) => i !== 1 && i !== 3),
    );
  });

  it('__proto__ and constructor as header names work as id and passthrough columns (CSV and JSONL)', async (t) => {
    const header = ['__proto__', 'constructor', ...MLP_HEADER.slice(2)];
    const rows = mlpRows(5);
    rows.forEach((r, i) => (r[1] = i % 2 ? 'toString' : `{"polluted":true}`));
    (rows[2] as string[])[3] = 'oops';
    for (const format of ['csv', 'jsonl'] as const) {
      const spec = mlpSpec();
      spec.input.id = ['__proto__'];
      spec.input.passthrough = ['constructor'];
      spec.output.format = format;
      const s = await score(t, toCsv(header, rows), { spec });
      assertSucceeded(s, { read: 5, scored: 4, rejected: 1 }, format);
      assert.deepEqual(
        (await errorsOf(s)).map((e) => [e.id, e.column]),
        [['r2', 'f1']],
      );
      const text = await s.out.onlyPart();
      const objects =
        format === 'csv'
          ? csvObjects(text)
          : text
              .trimEnd()
              .split('\n')
              .map((l) => JSON.parse(l) as Record<string, unknown>);
      if (format === 'csv') assert.deepEqual(parseCsv(text).header, ['__proto__', 'constructor', 'score']);
      const kept = rows.filter((_, i) => i !== 2);
      assert.equal(objects.length, kept.length);
      objects.forEach((o, i) => {
        assert.equal(Object.getPrototypeOf(o), Object.prototype, 'no prototype was replaced');
        assert.deepEqual(Object.keys(o), ['__proto__', 'constructor', 'score']);
        assert.equal(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, kept[i]?.[0]);
        assert.equal(Object.getOwnPropertyDescriptor(o, 'constructor')?.value, kept[i]?.[1]);
      });
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    }
  });
});

describe('CSV number cells', () => {
  const cases: Array<[cell: string, reason: string, detail: RegExp]> = [
    ['NaN', 'missing_value', /"NaN" is a missing value/],
    ['Infinity', 'non_finite', /"Infinity" is not a finite number/],
    ['-inf', 'non_finite', /"-inf" is not a finite number/],
    ['', 'missing_value', /empty cell/],
    ['1,234.5', 'not_a_number', /"1,234\.5" is not a number/],
    ['3,5', 'not_a_number', /"3,5" is not a number/],
    ['0x1F', 'not_a_number', /"0x1F" is not a number/],
    [' 5', 'not_a_number', /" 5" is not a number/],
    ['1e999', 'out_of_range', /out of range for float32/],
  ];

  function badCellRows(): string[][] {
    const rows = mlpRows(cases.length + 3);
    cases.forEach(([cell], i) => ((rows[i + 1] as string[])[5] = cell)); // f3
    return rows;
  }

  it('NaN, Infinity, empty, thousands separators, comma decimals, hex, spaces, overflow: rejected with a reason', async (t) => {
    const rows = badCellRows();
    const s = await score(t, toCsv(MLP_HEADER, rows), { spec: { ...mlpSpec(), limits: { maxErrorRate: 0.9 } } });
    assertSucceeded(s, { read: rows.length, scored: 3, rejected: cases.length });
    const errors = await errorsOf(s);
    assert.equal(errors.length, cases.length);
    cases.forEach(([cell, reason, detail], i) => {
      const e = errors[i];
      assert.ok(e, `error row for ${JSON.stringify(cell)}`);
      assert.deepEqual([e.line, e.column, e.reason, e.id], [i + 3, 'f3', reason, `r${i + 1}`], `cell ${JSON.stringify(cell)}`);
      assert.match(e.detail, detail);
    });
    const kept = [rows[0], rows[rows.length - 2], rows[rows.length - 1]] as string[][];
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), kept);
  });

  it('missing: nan feeds empty and NaN cells as NaN; other bad cells are still rejected', async (t) => {
    const rows = badCellRows();
    const spec = mlpSpec();
    spec.model.inputs[0] = { name: 'features', columns: MLP_HEADER.slice(2), missing: 'nan' };
    spec.limits = { maxErrorRate: 0.9 };
    const s = await score(t, toCsv(MLP_HEADER, rows), { spec });
    const nanCells = new Set(['NaN', '']);
    const rejected = cases.filter(([c]) => !nanCells.has(c));
    assertSucceeded(s, { read: rows.length, scored: rows.length - rejected.length, rejected: rejected.length });
    assert.deepEqual(
      (await errorsOf(s)).map((e) => e.reason),
      rejected.map(([, r]) => r),
    );
    const kept = rows.filter((r) => !rejected.some(([c]) => c === r[5]));
    const part = await s.out.onlyPart();
    await assertMlpPart(s.fx.model, part, kept, { feature: (c) => (nanCells.has(c) ? NaN : Number(c)) });
    assert.equal(parseCsv(part).rows.filter((r) => r[2] === 'NaN').length, 2, 'NaN inputs give NaN scores, written as NaN');
  });

  it('negative zero and scientific notation are accepted', async (t) => {
    const rows = mlpRows(3);
    (rows[0] as string[]).splice(2, 8, '-0', '1.5e-3', '-2E+1', '.5', '+3', '7.', '1e-50', '-0.0');
    (rows[1] as string[]).splice(2, 8, '0', '-1.25E-2', '2e1', '-.5', '3', '7', '0', '1E0');
    const s = await score(t, toCsv(MLP_HEADER, rows));
    assertSucceeded(s, { read: 3, scored: 3, rejected: 0 });
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows);
  });
});

describe('CSV output safety and error budget', () => {
  it('text passthrough that a spreadsheet would run as a formula is prefixed with a quote; numbers are not', async (t) => {
    const notes = ['=cmd|/C calc', '+x', '@x', '-x', '-3.5', '+2', '\tTAB', 'plain', '=a,b', '=1+1'];
    const rows = mlpRows(notes.length);
    rows.forEach((r, i) => (r[1] = notes[i] as string));
    const rejectedRow = mlpRows(1, { idPrefix: '=SUM(A1:A9)' })[0] as string[];
    rejectedRow[2] = 'bad';
    const s = await score(t, toCsv(MLP_HEADER, [...rows, rejectedRow]));
    assertSucceeded(s, { read: notes.length + 1, scored: notes.length, rejected: 1 });
    const expected = ["'=cmd|/C calc", "'+x", "'@x", "'-x", '-3.5', '+2', "'\tTAB", 'plain', "'=a,b", "'=1+1"];
    await assertMlpPart(s.fx.model, await s.out.onlyPart(), rows, { note: (n) => expected[notes.indexOf(n)] ?? '?' });
    const [err] = await errorsOf(s);
    assert.equal(err?.id, `'${rejectedRow[0]}`, 'ids in the errors file are neutralised');
    assert.equal(err?.record, `'${rejectedRow.join(',')}`, 'raw records in the errors file are neutralised');
  });

  it('more rejected rows than limits.maxErrorRate: run failed, no part, no _SUCCESS, errors file kept', async (t) => {
    const rows = mlpRows(20);
    for (const i of [3, 9, 15]) (rows[i] as string[])[6] = 'n/a';
    const spec = mlpSpec();
    spec.limits = { maxErrorRate: 0.1 };
    const s = await score(t, toCsv(MLP_HEADER, rows), { spec });
    assertFailed(s, /3 of 20 rows rejected \(15\.00%\), above limits\.maxErrorRate 10\.00%/);
    assert.equal(s.result.inputError, undefined);
    assert.deepEqual(s.out.names, [...s.out.errors, '_report.json']);
    assert.deepEqual(s.out.report?.rows.rejectedByReason, { not_a_number: 3 });
    assert.deepEqual(
      (await errorsOf(s)).map((e) => e.id),
      ['r3', 'r9', 'r15'],
    );
  });

  it('a rejected share exactly at limits.maxErrorRate still succeeds', async (t) => {
    const rows = mlpRows(20);
    for (const i of [3, 9]) (rows[i] as string[])[6] = 'n/a';
    const spec = mlpSpec();
    spec.limits = { maxErrorRate: 0.1 };
    const s = await score(t, toCsv(MLP_HEADER, rows), { spec });
    assertSucceeded(s, { read: 20, scored: 18, rejected: 2 });
    assert.equal(s.out.report?.rows.errorRate, 0.1);
  });
});
