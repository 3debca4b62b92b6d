/**
 * The first-hour commands through the real CLI: `inspect` (a model's inputs, outputs, opsets,
 * ZipMap and a model: block), `init` (a starter job from a model and a sample, validated, then
 * scored), and `validate --date` (what a run for that date would read, header checked; on S3
 * only the head of one object is fetched).
 *
 *   node --import tsx --test test/first-hour-commands.test.ts
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { buildMlp, buildPerColumnModel, buildZipMapClassifier } from '../scripts/models/models.js';
import { DATE, fixture, MLP, MLP_HEADER, mlpRows, mlpSpec, tempDir, toCsv, writeIn } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';
import { createBucket, putObject, startS3, type S3Server } from './helpers/s3.js';

describe('nightshift inspect', () => {
  it('shows inputs, outputs, opsets and ZipMap classes, and a model: block that validates', async (t) => {
    const dir = await tempDir(t);
    const file = await writeIn(dir, 'clf.onnx', buildZipMapClassifier({ features: 4, classes: 2, seed: 11 }));
    const r = await runCli(['inspect', file]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /IR version \d+, produced by skl2onnx [\d.]+; opsets: ai\.onnx \d+, ai\.onnx\.ml \d+/);
    assert.match(r.output, /inputs:\n {2}float_input +float32 \[N, 4\]\n/);
    assert.match(r.output, /output_label +int64 \[N\]\n/);
    assert.match(r.output, /output_probability +float32 \[N, 2\] +\(ZipMap in the file, rewritten at load: one column per class 0, 1\)/);
    assert.match(r.output, / {6}- name: float_input\n {8}columns: \[float_input_0, float_input_1, float_input_2, float_input_3\]\n {8}dtype: float32/);
    assert.match(r.output, / {6}- name: output_probability\n {8}columns: \[p_0, p_1\]/);

    const json = await runCli(['inspect', file, '--json']);
    const parsed = JSON.parse(json.output) as {
      signature: { inputs: { name: string; type: string; shape: unknown[] }[] };
      header: { opsets: { domain: string }[] };
    };
    assert.deepEqual(parsed.signature.inputs, [{ name: 'float_input', type: 'float32', shape: ['N', 4] }]);
    assert.ok(parsed.header.opsets.some((o) => o.domain === 'ai.onnx.ml'));

    // The suggested block is a working mapping: paste it into a spec and validate.
    const block = r.output.slice(r.output.indexOf('  model:\n')).split('\n\n')[0] ?? '';
    const spec = `name: pasted\n${block.replace(/^ {2}/gm, '')}\ninput: { uri: "in/{{date}}/", id: [id] }\noutput: { uri: "out/{{date}}/" }\n`;
    const v = await runCli(['validate', await writeIn(dir, 'pasted.yaml', spec)]);
    assert.equal(v.code, 0, `${spec}\n${v.output}`);
  });

  it('says what is wrong with a file that is not a model', async (t) => {
    const dir = await tempDir(t);
    const r = await runCli(['inspect', await writeIn(dir, 'notes.onnx', 'hello, not a model')]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /notes\.onnx is not a valid ONNX model/);
  });
});

describe('nightshift init', () => {
  it('writes a starter job from a model and a sample, validates it for the sample date, and it scores', async (t) => {
    const dir = await tempDir(t);
    await writeIn(dir, 'models/fraud v1.onnx', buildMlp(MLP));
    // Columns out of the model's order around the features: id first, a text column in between.
    const header = ['txn_id', ...MLP_HEADER.slice(2, 6), 'merchant', ...MLP_HEADER.slice(6)];
    const rows = mlpRows(40).map((r) => [r[0] as string, ...r.slice(2, 6), `m${r[0]}`, ...r.slice(6)]);
    await writeIn(dir, `data/${DATE}/part-1.csv`, toCsv(header, rows));
    const env = { NIGHTSHIFT_JOBS_DIR: path.join(dir, 'jobs') };
    const r = await runCli(['init', '--model', path.join(dir, 'models/fraud v1.onnx'), '--input', path.join(dir, `data/${DATE}/part-1.csv`)], env);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /wrote .*jobs\/fraud-v1\.yaml \(job fraud-v1\)/);
    assert.match(r.output, /TODO model input "features": columns taken in file order; check that the order/);
    assert.match(r.output, new RegExp(`validating it for ${DATE}:\\nok .*fraud-v1\\.yaml[^\\n]*\\n {5}run fraud-v1@${DATE} would read 1 object\\(s\\)`));
    const text = await readFile(path.join(dir, 'jobs/fraud-v1.yaml'), 'utf8');
    assert.match(text, /uri: "\.\.\/models\/fraud v1\.onnx"/);
    assert.match(text, /columns: \[f0, f1, f2, f3, f4, f5, f6, f7\]/);
    assert.match(text, /uri: "\.\.\/data\/\{\{date\}\}\/"/);
    assert.match(text, /id: \[txn_id\]\n {2}passthrough: \[merchant\]/);

    const again = await runCli(['init', '--model', path.join(dir, 'models/fraud v1.onnx')], env);
    assert.equal(again.code, 2);
    assert.match(again.output, /fraud-v1\.yaml exists; pass --force to replace it/);

    const score = await runCli(['score', 'fraud-v1', '--date', DATE], env);
    assert.equal(score.code, 0, score.output);
    assert.match(score.output, /rows: 40 read = 40 scored \+ 0 rejected/);
  });

  it('a Parquet sample: columns from its schema, a glob for its format beside other files', async (t) => {
    const dir = await tempDir(t);
    await writeIn(dir, 'm.onnx', buildMlp(MLP));
    const n = 20;
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: 'key', data: Array.from({ length: n }, (_, i) => `k${i}`), type: 'STRING' },
        ...Array.from({ length: 8 }, (_, f) => ({ name: `f${f}`, data: Array.from({ length: n }, (_, i) => i / (f + 1)), type: 'DOUBLE' as const })),
      ],
    });
    await writeIn(dir, `in/${DATE}/part.parquet`, new Uint8Array(bytes));
    await writeIn(dir, `in/${DATE}/notes.csv`, 'not,the,data\n');
    const out = path.join(dir, 'jobs/pq.yaml');
    const r = await runCli(['init', '--model', path.join(dir, 'm.onnx'), '--input', path.join(dir, `in/${DATE}/part.parquet`), '--out', out]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /run m@2026-11-28 would read 1 object\(s\), .*\/in\/2026-11-28\/\*\.parquet:\n.*part\.parquet/);
    const text = await readFile(out, 'utf8');
    assert.match(text, /uri: "\.\.\/in\/\{\{date\}\}\/\*\.parquet"\n {2}format: parquet\n {2}id: \[key\]/);
    assert.match(text, /columns: \[f0, f1, f2, f3, f4, f5, f6, f7\]/);
  });

  it('matches a per-column model by column name, text columns included', async (t) => {
    const dir = await tempDir(t);
    await writeIn(dir, 'pc.onnx', buildPerColumnModel({ seed: 13 }));
    await writeIn(
      dir,
      'sample.jsonl',
      '{"id":"a","country":"DE","age":31,"note":"x","amount":12.5}\n{"id":"b","country":"FR","age":45,"note":"y","amount":3}\n',
    );
    const out = path.join(dir, 'pc.yaml');
    const r = await runCli(['init', '--model', path.join(dir, 'pc.onnx'), '--input', path.join(dir, 'sample.jsonl'), '--out', out]);
    assert.equal(r.code, 0, r.output);
    const text = await readFile(out, 'utf8');
    assert.match(
      text,
      /- name: amount\n {6}columns: \[amount\]\n {6}dtype: float32\n {4}- name: age\n {6}columns: \[age\]\n {6}dtype: float32\n {4}- name: country\n {6}columns: \[country\]\n {6}dtype: string/,
    );
    assert.match(text, /format: jsonl\n {2}id: \[id\]\n {2}passthrough: \[note\]/);
    assert.match(text, /# TODO: input\.uri is the sample itself: put \{\{date\}\} where each day's data differs/);
  });
});

describe('nightshift validate --date', () => {
  it('lists what the run would read and checks the header against the columns the job uses', async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(5)), 'b.csv.gz': toCsv(MLP_HEADER, mlpRows(5)) } });
    const ok = await runCli(['validate', fx.job.file, '--date', DATE]);
    assert.equal(ok.code, 0, ok.output);
    assert.match(
      ok.output,
      new RegExp(
        `run test-job@${DATE} would read 2 object\\(s\\), [\\d.]+ (B|KiB), from ${fx.inputDir}/:\\n {7}${fx.inputDir}/a\\.csv +\\d+ B\\n {7}${fx.inputDir}/b\\.csv\\.gz`,
      ),
    );
    assert.match(ok.output, /a\.csv: every column the job uses is there \(10 columns\)\n {5}and write .*\/out\/2026-11-28\//);

    const none = await runCli(['validate', fx.job.file, '--date', '2026-11-27']);
    assert.equal(none.code, 2, none.output);
    assert.match(
      none.output,
      /input\.uri "in\/\{\{date\}\}\/" for 2026-11-27: .*\/in\/2026-11-27\/: no input objects found \(has the data for this date landed\?\)/,
    );

    const spec = mlpSpec();
    spec.model.inputs = [{ name: 'features', columns: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f_7'] }];
    spec.input.passthrough = ['notes'];
    const typo = await writeIn(fx.dir, 'typo.yaml', (await import('yaml')).stringify(spec));
    const bad = await runCli(['validate', typo, '--date', DATE]);
    assert.equal(bad.code, 2, bad.output);
    assert.match(bad.output, /a\.csv has no column "f_7" \(model\.inputs\.0\.columns, input "features"\); did you mean "f7"\?/);
    assert.match(bad.output, /a\.csv has no column "notes" \(input\.passthrough\); did you mean "note"\?/);
    assert.match(bad.output, /a\.csv has the columns: id, note, f0, f1, f2, f3, f4, f5, f6, f7/);
  });

  describe('on S3', () => {
    let s3: S3Server;
    let proxy: http.Server;
    const ranges: string[] = [];
    let bodyBytes = 0;
    before(async () => {
      s3 = await startS3();
      // A recording hop in front of s3rver: which Range each GET asked for, and bytes answered.
      const target = new URL(s3.endpoint);
      proxy = http.createServer((req, res) => {
        if (req.method === 'GET' && req.headers.range) ranges.push(req.headers.range);
        const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.on('data', (c: Buffer) => (bodyBytes += req.method === 'GET' && !req.url?.includes('list-type') ? c.length : 0));
          ur.pipe(res);
        });
        req.pipe(up);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await s3.stop();
    });

    it('reads only the head of the first object', async (t) => {
      const bucket = await createBucket(s3, 'validate');
      const big = toCsv(MLP_HEADER, mlpRows(40_000)); // ~2.8 MB
      await putObject(s3, bucket, `in/${DATE}/a.csv`, big);
      await putObject(s3, bucket, `in/${DATE}/b.csv`, big);
      const dir = await tempDir(t);
      await writeIn(dir, 'model.onnx', buildMlp(MLP));
      const spec = { ...mlpSpec(), input: { ...mlpSpec().input, uri: `s3://${bucket}/in/{{date}}/` }, output: { uri: `s3://${bucket}/out/{{date}}/` } };
      const file = await writeIn(dir, 'job.yaml', (await import('yaml')).stringify(spec));
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const r = await runCli(['validate', file, '--date', DATE], {
        NIGHTSHIFT_S3_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`would read 2 object\\(s\\), [\\d.]+ MiB, from s3://${bucket}/in/${DATE}/:`));
      assert.match(r.output, new RegExp(`s3://${bucket}/in/${DATE}/a\\.csv: every column the job uses is there`));
      assert.deepEqual(ranges, ['bytes=0-1048575'], 'one ranged GET of the first MiB');
      assert.ok(bodyBytes <= 1024 * 1024, `read ${bodyBytes} bytes of ${2 * big.length}`);
    });
  });
});
