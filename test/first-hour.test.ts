/**
 * What a new user meets first: --version, "did you mean" for a mistyped command, flag or spec
 * key, validate's warning about an output prefix that every day's run would replace, an unquoted
 * {{date}}, YAML errors with their snippet, a missing model named by its spec field, missing S3
 * credentials in one line, and `npm run models` kept away from the demo's model. Each through
 * the real CLI, asserting what the user reads.
 *
 *   node --import tsx --test test/first-hour.test.ts
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { closest } from '../src/core/did-you-mean.js';
import { fixture, MLP_HEADER, mlpRows, mlpSpec, tempDir, toCsv, writeIn } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';
import { REPO_ROOT } from './helpers/workers.js';

describe('the first hour', () => {
  it('prints the version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^nightshift \d+\.\d+\.\d+/);
  });

  it('suggests the closest command and flag', async () => {
    const cmd = await runCli(['valdiate']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.output, /unknown command "valdiate" \(did you mean "validate"\?\)/);
    const flag = await runCli(['output', 'some-job', '--lsit']);
    assert.equal(flag.code, 2);
    assert.match(flag.output, /unknown option "--lsit" \(did you mean "--list"\?\)/);
    assert.equal(closest('xyz', ['validate', 'score']), undefined, 'nothing close: no suggestion');
  });

  it('validate warns when output.uri has no {{date}} or {{runId}}', async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(3)) }, spec: { ...mlpSpec(), output: { uri: 'out/' } } });
    const r = await runCli(['validate', fx.job.file]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /warn .*output\.uri "out\/" has no \{\{date\}\} or \{\{runId\}\}: every day's run writes to the same prefix/);
  });

  it('suggests the nearest key for a misspelt spec key, at any depth', async (t) => {
    const dir = await tempDir(t);
    const file = await writeIn(
      dir,
      'job.yaml',
      [
        'name: typo',
        'modle: {}',
        'model: { uri: m.onnx, inputs: [{ name: x, columns: [a], dtyp: float32 }], outputs: [{ name: y, columns: [s] }] }',
        'input: { uri: "in/{{date}}/" }',
        'output: { uri: "out/{{date}}/" }',
        'limits: { batchRow: 5 }',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /modle: unknown key; did you mean "model"\? \(known here: name, description, schedule, model, /);
    assert.match(r.output, /limits\.batchRow: unknown key; did you mean "batchRows"\? \(known here: batchRows, maxErrorRate, maxRecordBytes\)/);
    assert.match(r.output, /model\.inputs\.0\.dtyp: unknown key; did you mean "dtype"\?/);
  });

  it('says "quote it" for an unquoted {{date}} instead of a cascade of YAML errors', async (t) => {
    const dir = await tempDir(t);
    const flow = await writeIn(
      dir,
      'flow.yaml',
      [
        'name: unquoted',
        'model: { uri: m.onnx, inputs: [{ name: x, columns: [a] }], outputs: [{ name: y, columns: [s] }] }',
        'input: { uri: in/{{date}}/, id: [a] }   # flow style',
        'output:',
        '  uri: {{date}}/out/',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', flow]);
    assert.equal(r.code, 2, r.output);
    assert.match(
      r.output,
      /line 3: a \{\{…\}\} template outside quotes, which YAML reads as the start of a map; quote the value:\n\s+input: \{ uri: in\/\{\{date\}\}\/, id: \[a\] \} {3}# flow style\n\s+should be\n\s+input: \{ uri: "in\/\{\{date\}\}\/", id: \[a\] \} {3}# flow style/,
    );
    assert.match(r.output, /line 5: .*quote the value:\n\s+uri: \{\{date\}\}\/out\/\n\s+should be\n\s+uri: "\{\{date\}\}\/out\/"/);
    assert.doesNotMatch(r.output, /Unexpected|flow-map|Warning/, 'no parser cascade, no Node warning');
    // In a block value that does not start with the braces, YAML reads a template as text: fine.
    const block = await writeIn(
      dir,
      'block.yaml',
      [
        'name: fine',
        'model: { uri: m.onnx, inputs: [{ name: x, columns: [a] }], outputs: [{ name: y, columns: [s] }] }',
        'input:',
        '  uri: in/{{date}}/',
        'output:',
        '  uri: out/{{date}}/',
        '',
      ].join('\n'),
    );
    const b = await runCli(['validate', block]);
    assert.doesNotMatch(b.output, /template outside quotes/);
  });

  it('keeps the code snippet of other YAML errors', async (t) => {
    const dir = await tempDir(t);
    const file = await writeIn(dir, 'job.yaml', 'name: bad\nmodel:\n  uri: m.onnx\n   inputs: []\n');
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /YAML: Nested mappings are not allowed in compact mappings at line 3, column 8:\n {6} {2}uri: m\.onnx\n {6} {7}\^/);
  });

  it('a missing model names the spec field and says relative paths start at the spec file', async (t) => {
    const fx = await fixture(t, {
      files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(3)) },
      spec: { ...mlpSpec(), model: { ...mlpSpec().model, uri: 'models/missing.onnx' } },
    });
    for (const args of [
      ['validate', fx.job.file],
      ['score', fx.job.file, '--date', '2026-11-28'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.output);
      assert.match(
        r.output,
        new RegExp(
          `model\\.uri "models/missing\\.onnx" \\(relative to the spec file's folder, ${fx.dir}\\): model ${fx.dir}/models/missing\\.onnx cannot be read: no such file on this machine \\(ENOENT\\)`,
        ),
      );
    }
    // model.ref: the field, the registry, and what the registry has.
    await writeIn(fx.dir, 'reg/.keep', '');
    const refJob = await writeIn(
      fx.dir,
      'ref.yaml',
      (await readFile(fx.job.file, 'utf8')).replace('uri: models/missing.onnx', 'ref: fraud@champion\n  registry: reg/'),
    );
    const ref = await runCli(['validate', refJob]);
    assert.equal(ref.code, 2, ref.output);
    assert.match(ref.output, /model\.ref "fraud@champion" \(model\.registry "reg\/"\): no model named "fraud" in /);
  });

  it('missing S3 credentials are one line that says where the SDK looks', async (t) => {
    const fx = await fixture(t, { files: {}, spec: { ...mlpSpec(), model: { ...mlpSpec().model, uri: 's3://models/fraud.onnx' } } });
    const noCredentials = {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: path.join(fx.dir, 'no-credentials'),
      AWS_CONFIG_FILE: path.join(fx.dir, 'no-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      // Nothing may leave the machine: a closed port on loopback.
      NIGHTSHIFT_S3_ENDPOINT: 'http://127.0.0.1:9',
    };
    const r = await runCli(['score', fx.job.file, '--date', '2026-11-28'], noCredentials);
    assert.equal(r.code, 2, r.output);
    assert.equal(r.output.trim().split('\n').length, 1, r.output);
    assert.match(
      r.output,
      /^nightshift score: model\.uri "s3:\/\/models\/fraud\.onnx": model s3:\/\/models\/fraud\.onnx cannot be read: no S3 credentials found on this machine; the AWS SDK looks in AWS_ACCESS_KEY_ID \+ AWS_SECRET_ACCESS_KEY, AWS_PROFILE .*instance role/,
    );
    assert.doesNotMatch(r.output, /CredentialsProviderError|NodeVersionSupport|\n\s+at /);
  });

  it('npm run models writes elsewhere than the demo model npm run demo made', async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const modelsDir = path.resolve(REPO_ROOT, /make-models\.ts (\S+)/.exec(pkg.scripts.models ?? '')?.[1] ?? '');
    const example = parseYaml(await readFile(path.join(REPO_ROOT, 'jobs/example.yaml'), 'utf8')) as { model: { uri: string } };
    const demoModel = path.resolve(REPO_ROOT, 'jobs', example.model.uri);
    assert.notEqual(path.dirname(demoModel), modelsDir, `npm run models (${modelsDir}) would overwrite the demo's ${demoModel}`);
    assert.match(
      await readFile(path.join(REPO_ROOT, 'scripts/make-demo.ts'), 'utf8'),
      new RegExp(path.basename(demoModel).replace('.', '\\.')),
      'make-demo writes the model the example job reads',
    );
  });
});
