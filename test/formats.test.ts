/**
 * Formats beside CSV: Parquet and JSON Lines in, Parquet out. The Parquet nightshift writes is
 * read back by an independent reader (DuckDB, not the library that wrote it) and compared
 * exactly with a direct onnxruntime run; bad Parquet and JSON Lines fail or reject as the README
 * says, and rows always reconcile.
 *
 *   node --import tsx --test test/formats.test.ts
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import ort from 'onnxruntime-node';
import { buildLinearClassifier, mulberry32 } from '../scripts/models/models.js';
import { InputError } from '../src/core/errors.js';
import { findPublishedRun, readPublishedRows } from '../src/run/published-run.js';
import { Stores } from '../src/storage/stores.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { DATE, directRun, f32, FEATURES, fixture, listFiles, mlpSpec, parseErrors, readOutput, runJob } from './helpers/jobs.js';

const CLASSIFIER = { features: 8, classes: 3, seed: 11 };

/** A classifier job: label (int64) and three float32 probabilities per row. */
function classifierSpec(input: Partial<JobSpecInput['input']>, output: Partial<JobSpecInput['output']> = {}): JobSpecInput {
  return {
    name: 'formats-test',
    model: {
      uri: 'model.onnx',
      inputs: [{ name: 'float_input', columns: [...FEATURES], dtype: 'float32' }],
      outputs: [
        { name: 'label', columns: ['label'] },
        { name: 'probabilities', columns: ['p0', 'p1', 'p2'] },
      ],
    },
    input: { uri: 'in/{{date}}/', id: ['id'], passthrough: ['note'], ...input },
    output: { uri: 'out/{{date}}/', ...output },
    limits: { batchRows: 500, maxErrorRate: 0.5 },
  };
}

type Column = { name: string; type: 'DOUBLE' | 'FLOAT' | 'STRING' | 'INT64'; data: unknown[] };

/** A Parquet file written with hyparquet-writer; nulls allowed in every column. */
function parquetFile(columns: Column[], rowGroupSize: number): Uint8Array {
  const w = new ByteWriter();
  const schema = [
    { name: 'root', num_children: columns.length },
    ...columns.map((c) =>
      c.type === 'STRING'
        ? { name: c.name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const }
        : { name: c.name, type: c.type, repetition_type: 'OPTIONAL' as const },
    ),
  ];
  const writer = new ParquetWriter({ writer: w, schema });
  void writer.write({ columnData: columns.map((c) => ({ name: c.name, data: c.data as never })), rowGroupSize });
  void writer.finish();
  return new Uint8Array(w.getBuffer());
}

function featureRows(n: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: FEATURES.length }, () => Math.round((rand() * 8 - 4) * 1e6) / 1e6));
}

function featureColumns(x: number[][], type: 'DOUBLE' | 'FLOAT' = 'DOUBLE'): Column[] {
  return FEATURES.map((f, j) => ({ name: f, type, data: x.map((r) => r[j] ?? null) }));
}

async function duckdb(t: TestContext, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  t.after(() => {
    conn.closeSync();
    instance.closeSync();
  });
  return (await conn.runAndReadAll(sql)).getRowObjects();
}

describe('Parquet output', () => {
  it('keeps score types (float32, int64), ids and passthrough as text; DuckDB reads back exactly what the model returned', async (t) => {
    const x = featureRows(3000, 1);
    const csv = ['id,note,' + FEATURES.join(','), ...x.map((r, i) => `r${i},"n,${i}",${r.join(',')}`)].join('\n') + '\n';
    const model = buildLinearClassifier(CLASSIFIER);
    const fx = await fixture(t, { files: { 'a.csv': csv }, model, spec: classifierSpec({}, { format: 'parquet', rowGroupRows: 1024 }) });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    assert.deepEqual([report.rows.read, report.rows.scored], [3000, 3000]);
    const [part] = report.output.parts;
    assert.match(part ?? '', /^part-00000-a1-[0-9a-f]{4}\.parquet$/);
    const file = path.join(fx.outputDir, part as string);

    const schema = await duckdb(t, `SELECT name, type, repetition_type FROM parquet_schema('${file}') WHERE name NOT IN ('schema', 'root') ORDER BY name`);
    assert.deepEqual(
      schema.map((r) => `${String(r.name)}:${String(r.type)}`),
      ['id:BYTE_ARRAY', 'label:INT64', 'note:BYTE_ARRAY', 'p0:FLOAT', 'p1:FLOAT', 'p2:FLOAT'],
    );
    const meta = await duckdb(
      t,
      `SELECT row_group_id, row_group_num_rows, compression FROM parquet_metadata('${file}') WHERE path_in_schema = 'p0' ORDER BY 1`,
    );
    assert.deepEqual(
      meta.map((r) => Number(r.row_group_num_rows)),
      [1024, 1024, 952],
      'row groups of output.rowGroupRows rows',
    );
    assert.ok(meta.every((r) => r.compression === 'SNAPPY'));

    // Exact: float32 bits and int64 labels from DuckDB = a direct onnxruntime run on the same rows.
    const rows = await duckdb(t, `SELECT id, note, label, p0, p1, p2 FROM read_parquet('${file}')`);
    const feeds = { float_input: new ort.Tensor('float32', Float32Array.from(x.flat()), [x.length, FEATURES.length]) };
    const direct = await directRun(model, feeds);
    const labels = direct.label?.data as BigInt64Array;
    const probs = f32(direct.probabilities);
    assert.equal(rows.length, 3000);
    rows.forEach((r, i) => {
      assert.equal(r.id, `r${i}`);
      assert.equal(r.note, `n,${i}`);
      assert.equal(r.label, labels[i], `label of row ${i}`);
      for (let c = 0; c < 3; c++) assert.ok(Object.is(Math.fround(r[`p${c}`] as number), probs[i * 3 + c]), `p${c} of row ${i}`);
    });

    // The library reader follows _SUCCESS to the same rows, types kept.
    const stores = new Stores();
    t.after(() => stores.close());
    const run = await findPublishedRun(fx.job, stores, { date: DATE });
    assert.deepEqual(
      run.parts.map((p) => p.format),
      ['parquet'],
    );
    let n = 0;
    for await (const row of readPublishedRows(run, stores)) {
      assert.equal(row.label, labels[n]);
      n++;
    }
    assert.equal(n, 3000);
  });

  it('refuses gzip with Parquet (it is compressed inside)', async (t) => {
    const fx = fixture(t, { files: { 'a.csv': 'id\n' }, spec: classifierSpec({}, { format: 'parquet', gzip: true }) });
    await assert.rejects(fx, /output\.gzip: Parquet parts are compressed inside/);
  });
});

describe('Parquet input', () => {
  it('reads columns by name, row groups as shards; nulls are missing values; results equal the CSV of the same rows', async (t) => {
    const x = featureRows(2400, 2);
    const ids = x.map((_, i) => `r${i}`);
    const cols = featureColumns(x);
    // Row 7 has a null feature: rejected as missing, named by its row number.
    (cols[3] as Column).data[7] = null;
    const columns: Column[] = [
      { name: 'extra', type: 'STRING', data: ids.map(() => 'ignored') },
      ...cols,
      { name: 'note', type: 'STRING', data: ids.map((i) => `note ${i}`) },
      { name: 'id', type: 'STRING', data: ids },
    ];
    const file = parquetFile(columns, 300);
    const model = buildLinearClassifier(CLASSIFIER);
    const fx = await fixture(t, { files: { 'a.parquet': file }, model, spec: classifierSpec({ format: 'parquet', shardBytes: 64 * 1024 }) });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    assert.ok(report.output.parts.length > 1, `row groups made ${report.output.parts.length} shard(s) of a ${file.length}-byte file`);
    assert.deepEqual([report.rows.read, report.rows.scored, report.rows.rejected], [2400, 2399, 1]);
    const out = await readOutput(fx.outputDir);
    const [errors] = out.errors;
    const rejected = parseErrors(await out.text(errors as string));
    assert.deepEqual(
      rejected.map((e) => [e.line, e.column, e.reason, e.id]),
      [[8, 'f3', 'missing_value', 'r7']],
    );

    // The same rows as CSV through the CSV path give the same scored rows.
    const csv =
      ['id,note,' + FEATURES.join(','), ...x.map((r, i) => `r${i},note r${i},${i === 7 ? r.map((v, j) => (j === 3 ? '' : v)).join(',') : r.join(',')}`)].join(
        '\n',
      ) + '\n';
    const viaCsv = await fixture(t, { files: { 'a.csv': csv }, model, spec: classifierSpec({}) });
    const csvReport = (await runJob(viaCsv.job)).report;
    const text = async (dir: string, parts: string[]): Promise<string> =>
      (await Promise.all(parts.map((p) => readFile(path.join(dir, p), 'utf8')))).map((s, i) => (i === 0 ? s : s.slice(s.indexOf('\n') + 1))).join('');
    assert.equal(await text(fx.outputDir, report.output.parts), await text(viaCsv.outputDir, csvReport.output.parts));
  });

  const bad: [string, (good: Uint8Array) => Uint8Array, RegExp][] = [
    ['a truncated file', (good) => good.subarray(0, Math.floor(good.length / 2)), /not a readable Parquet file \(truncated, or a corrupt footer\)/],
    [
      'a corrupt footer',
      (good) => Uint8Array.from(good).fill(0xff, good.length - 8, good.length - 4),
      /not a readable Parquet file \(truncated, or a corrupt footer\)/,
    ],
    ['a file that is not Parquet', () => new TextEncoder().encode('id,f0\n1,2\n'), /not a readable Parquet file/],
    [
      'a missing column',
      () =>
        parquetFile(
          [{ name: 'id', type: 'STRING', data: ['a'] }, { name: 'note', type: 'STRING', data: ['n'] }, ...featureColumns(featureRows(1, 3)).slice(1)],
          10,
        ),
      /column "f0" is not in the Parquet file \(its columns: "id", "note", "f1"/,
    ],
    [
      'a text column where a number is expected',
      () =>
        parquetFile(
          [
            { name: 'id', type: 'STRING', data: ['a'] },
            { name: 'note', type: 'STRING', data: ['n'] },
            ...featureColumns(featureRows(1, 3)).map((c, j) => (j === 2 ? { ...c, type: 'STRING' as const, data: ['1.5'] } : c)),
          ],
          10,
        ),
      /column "f2" is BYTE_ARRAY\/UTF8 in the Parquet file; model input "float_input" \(float32\) needs a numeric column/,
    ],
  ];
  for (const [what, make, message] of bad) {
    it(`fails the file, naming it, for ${what}; other files are scored and counted`, async (t) => {
      const good = parquetFile(
        [{ name: 'id', type: 'STRING', data: ['a', 'b'] }, { name: 'note', type: 'STRING', data: ['n', 'm'] }, ...featureColumns(featureRows(2, 4))],
        10,
      );
      const fx = await fixture(t, {
        files: { 'a.parquet': good, 'b.parquet': make(good) },
        model: buildLinearClassifier(CLASSIFIER),
        spec: classifierSpec({ format: 'parquet' }),
      });
      const { report, inputError } = await runJob(fx.job);
      assert.equal(report.status, 'failed');
      assert.ok(inputError instanceof InputError, String(inputError));
      assert.match(inputError.message, /b\.parquet/);
      assert.match(inputError.message, message);
      assert.equal(report.rows.read, report.rows.scored + report.rows.rejected);
      assert.equal(await listFiles(fx.outputDir).then((n) => n.includes('_SUCCESS')), false);
    });
  }
});

describe('JSON Lines input', () => {
  it('reads objects by key (gzipped too); rejects lines that are not JSON, not objects, or nested where a number is expected, with their line numbers', async (t) => {
    const x = featureRows(6, 5);
    const obj = (i: number, over: Record<string, unknown> = {}): string =>
      JSON.stringify({ id: `r${i}`, note: `n${i}`, ...Object.fromEntries(FEATURES.map((f, j) => [f, x[i]?.[j]])), ...over });
    const lines = [obj(0), '{"id": "r1", not json', '', '[1, 2, 3]', obj(3, { f2: { nested: 1 } }), obj(4, { f5: null }), obj(5, { extra: [1, 2] }), '42'];
    const text = `${lines.join('\n')}\n`;
    const model = buildLinearClassifier(CLASSIFIER);
    const spec = { ...classifierSpec({ format: 'jsonl' }), limits: { maxErrorRate: 0.9 } };
    const fx = await fixture(t, { files: { 'a.jsonl': text, 'b.jsonl.gz': gzipSync(`${obj(0)}\r\n${obj(5)}`) }, model, spec });
    const { report } = await runJob(fx.job);
    assert.equal(report.status, 'succeeded', report.reason);
    assert.deepEqual([report.rows.read, report.rows.scored, report.rows.rejected], [9, 4, 5]);
    assert.deepEqual(report.rows.rejectedByReason, { invalid_json: 1, not_an_object: 2, not_a_number: 1, missing_value: 1 });
    const out = await readOutput(fx.outputDir);
    const rejected = parseErrors(await out.text(out.errors[0] as string));
    assert.deepEqual(
      rejected.map((e) => [e.line, e.reason, e.column]),
      [
        [2, 'invalid_json', ''],
        [4, 'not_an_object', ''],
        [5, 'not_a_number', 'f2'],
        [6, 'missing_value', 'f5'],
        [8, 'not_an_object', ''],
      ],
    );
    // Scored rows: the same scores as the CSV path gives for the same values.
    const part = await out.text(out.parts[0] as string);
    assert.deepEqual(
      part
        .trim()
        .split('\n')
        .map((l) => l.split(',')[0]),
      ['id', 'r0', 'r5'],
    );
  });

  it('names the object when the gzip stream is truncated', async (t) => {
    const gz = gzipSync(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: i })).join('\n'));
    const fx = await fixture(t, {
      files: { 'a.jsonl.gz': gz.subarray(0, gz.length - 20) },
      spec: { ...mlpSpec(), input: { ...mlpSpec().input, format: 'jsonl' } },
    });
    const { inputError } = await runJob(fx.job);
    assert.match(String(inputError?.message), /a\.jsonl\.gz: the gzip stream is truncated or corrupt/);
  });
});
