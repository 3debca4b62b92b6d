/**
 * `monitor.baseline: model` through the real CLI: a baseline profiled from reference data is
 * registered with the model version (`model register --baseline`), a job scoring fraud@champion
 * is judged against it (a shifted input drifts, an unshifted one does not), a version without a
 * baseline or a job without model.ref fails at plan naming why, and a baseline made for another
 * signature is refused at register.
 *
 *   node --import tsx --test test/model-baseline.test.ts
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import type { RunReport } from '../src/report/run-report.js';
import { fixture, mlpSpec, writeIn } from './helpers/jobs.js';
import { normalCsv } from './helpers/monitoring.js';
import { runCli } from './helpers/redis-process.js';

test('baseline: model judges against the baseline attached to the registered version', async (t) => {
  const fx = await fixture(t, { files: {} });
  const env = { NIGHTSHIFT_USER: 'ana' };
  await writeIn(fx.dir, 'train/a.csv', normalCsv(3000, 1));
  const prof = await runCli(['profile', fx.job.file, '--input', path.join(fx.dir, 'train/'), '--out', path.join(fx.dir, 'baseline.json')]);
  assert.equal(prof.code, 0, prof.output);

  const reg = path.join(fx.dir, 'reg/');
  await writeIn(fx.dir, 'reg/.keep', '');
  const model = path.join(fx.dir, 'model.onnx');
  const r1 = await runCli(
    ['model', 'register', 'fraud', model, '--baseline', path.join(fx.dir, 'baseline.json'), '--alias', 'champion', '--registry', reg],
    env,
  );
  assert.equal(r1.code, 0, r1.output);
  const shown = await runCli(['model', 'show', 'fraud@1', '--registry', reg, '--json']);
  assert.match(shown.output, /"baseline\.json": \{\s+"file": "baseline\.json"/);

  const { uri: _file, ...fromRegistry } = mlpSpec().model;
  const spec = {
    ...mlpSpec(),
    name: 'by-ref',
    model: { ...fromRegistry, ref: 'fraud@champion', registry: 'reg/' },
    output: { uri: 'ref-out/{{date}}/' },
    monitor: { baseline: 'model' as const },
  };
  const job = await writeIn(fx.dir, 'by-ref.yaml', stringify(spec));
  const report = async (date: string): Promise<RunReport> =>
    JSON.parse(await readFile(path.join(fx.dir, 'ref-out', date, '_report.json'), 'utf8')) as RunReport;

  await writeIn(fx.dir, 'in/2026-11-26/a.csv', normalCsv(2000, 2));
  const same = await runCli(['score', job, '--date', '2026-11-26']);
  assert.equal(same.code, 0, same.output);
  const sameReport = await report('2026-11-26');
  const b = sameReport.monitoring?.baseline;
  assert.equal(b?.source, 'model');
  assert.equal(b?.from, 'fraud@1');
  assert.ok(b?.uri.endsWith(`${reg}fraud/versions/1/baseline.json`), b?.uri);
  assert.equal(sameReport.monitoring?.verdict, 'ok');

  await writeIn(fx.dir, 'in/2026-11-27/a.csv', normalCsv(2000, 3, 1));
  const shifted = await runCli(['score', job, '--date', '2026-11-27']);
  assert.equal(shifted.code, 0, shifted.output);
  const m = (await report('2026-11-27')).monitoring;
  assert.equal(m?.verdict, 'drift');
  assert.ok(m && m.baseline !== null && m.drifted.some((d) => d.startsWith('f0 ')), JSON.stringify(m));

  // A version without a baseline: the run fails at plan, naming the version.
  const r2 = await runCli(['model', 'register', 'fraud', model, '--alias', 'champion', '--registry', reg], env);
  assert.equal(r2.code, 0, r2.output);
  const none = await runCli(['score', job, '--date', '2026-11-26']);
  assert.equal(none.code, 2, none.output);
  assert.match(none.output, /monitor\.baseline: model: fraud@2 has no baseline\.json attached; register the version with --baseline FILE/);

  // A job that names a model file, not a registered version.
  const byUri = await writeIn(fx.dir, 'by-uri.yaml', stringify({ ...mlpSpec(), name: 'by-uri', monitor: { baseline: 'model' } }));
  const noRef = await runCli(['score', byUri, '--date', '2026-11-26']);
  assert.equal(noRef.code, 2, noRef.output);
  assert.match(noRef.output, /monitor\.baseline: model: the job does not score a registered model version \(model\.ref\)/);

  // A baseline for another signature is refused before anything is registered.
  const foreign = (await readFile(path.join(fx.dir, 'baseline.json'), 'utf8')).replaceAll('"name":"features"', '"name":"feats"');
  await writeIn(fx.dir, 'foreign.json', foreign);
  const refused = await runCli(['model', 'register', 'fraud', model, '--baseline', path.join(fx.dir, 'foreign.json'), '--registry', reg], env);
  assert.equal(refused.code, 2, refused.output);
  assert.match(
    refused.output,
    /baseline\.json was made for another model signature: the model has no input "feats" \(it has inputs features; outputs score\); nothing was registered/,
  );
  const list = await runCli(['model', 'list', 'fraud', '--registry', reg]);
  assert.match(list.output, /fraud +versions 1-2 /);
});
