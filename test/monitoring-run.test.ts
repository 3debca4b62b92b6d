/**
 * Monitoring inside real runs (`score`, in-process): every run gets a profile; drift against a
 * baseline is judged per column; onDrift warn / fail; bad baselines fail at plan before any
 * input is read.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../src/cli/main.js';
import { JobSpecError } from '../src/core/errors.js';
import type { MonitoringSection } from '../src/monitor/drift-report.js';
import type { RunProfile } from '../src/monitor/run-profile.js';
import { DATE, FEATURES, fixture, mlpSpec, runJob, writeIn, writeJob } from './helpers/jobs.js';
import { normalCsv } from './helpers/monitoring.js';

/** A baseline file made the way a user makes one: a run's _profile.json on reference data. */
async function makeBaseline(t: Parameters<typeof fixture>[0]): Promise<{ text: string; profile: RunProfile }> {
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(3000, 1), 'b.csv': normalCsv(3000, 2) } });
  const r = await runJob(fx.job);
  assert.equal(r.report.status, 'succeeded');
  const text = await readFile(path.join(fx.outputDir, '_profile.json'), 'utf8');
  return { text, profile: JSON.parse(text) as RunProfile };
}

test('every run writes _profile.json and a profile summary in the report', async (t) => {
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(500, 3), 'b.csv': 'id,note,f0,f1,f2,f3,f4,f5,f6,f7\nx1,n,1,2,3,4,5,6,7,oops\n' } });
  const r = await runJob(fx.job);
  const p = JSON.parse(await readFile(path.join(fx.outputDir, '_profile.json'), 'utf8')) as RunProfile;
  assert.equal(p.rows.read, 501);
  assert.equal(p.rows.rejected, 1);
  assert.deepEqual(Object.keys(p.inputs), FEATURES);
  assert.deepEqual(p.inputs.f7?.rejected, { not_a_number: 1 });
  assert.equal(p.run?.attempt, r.report.attempt);
  const f0 = r.report.profile?.inputs.f0;
  assert.equal(f0?.kind, 'numeric');
  assert.equal(f0?.count, 500);
  assert.equal(r.report.profile?.scores.score?.count, 500);
  assert.deepEqual(r.report.monitoring, { baseline: null, verdict: 'not_judged', note: 'no monitor.baseline configured' });
  assert.ok(!('profile' in (r.report.shards[0] ?? {})), 'shard profiles stay out of the report');
});

test('drift against a baseline file: a shifted run is flagged (warn publishes, fail fails), an unshifted one is not', async (t) => {
  const base = await makeBaseline(t);
  for (const [label, shift, onDrift] of [
    ['same', 0, 'fail'],
    ['shifted', 1, 'warn'],
    ['shifted', 1, 'fail'],
  ] as const) {
    const spec = { ...mlpSpec(), monitor: { baseline: { uri: 'baseline.json' }, onDrift } };
    const fx = await fixture(t, { files: { 'a.csv': normalCsv(4000, label === 'same' ? 5 : 6, shift) }, spec });
    await writeIn(fx.dir, 'baseline.json', base.text);
    const r = await runJob(fx.job);
    const m = r.report.monitoring as MonitoringSection;
    assert.equal(m.baseline.source, 'uri');
    if (label === 'same') {
      assert.equal(m.verdict, 'ok', JSON.stringify(m.drifted));
      assert.equal(r.report.status, 'succeeded');
      continue;
    }
    assert.equal(m.verdict, 'drift');
    assert.ok(
      m.drifted.some((d) => d.startsWith('f0 ')),
      m.drifted.join(),
    );
    const f0 = m.columns.find((c) => c.column === 'f0');
    assert.equal(f0?.metrics.find((x) => x.metric === 'psi')?.threshold && typeof f0.metrics.find((x) => x.metric === 'psi')?.threshold, 'object');
    if (onDrift === 'warn') {
      assert.equal(r.report.status, 'succeeded');
      assert.ok(existsSync(path.join(fx.outputDir, '_SUCCESS')));
    } else {
      assert.equal(r.report.status, 'failed');
      assert.match(r.report.reason ?? '', /^drift in .* \(monitor\.onDrift: fail\)$/);
      assert.ok(!existsSync(path.join(fx.outputDir, '_SUCCESS')));
      assert.deepEqual(r.report.output.parts, []);
    }
  }
});

test('bad baselines fail at plan, before any input is read: corrupt, foreign signature, missing column, absent', async (t) => {
  const base = await makeBaseline(t);
  const foreign = { ...base.profile, signature: { ...base.profile.signature, inputs: [{ name: 'x', columns: ['a'], dtype: 'float32' }] } };
  const { f3: _dropped, ...inputs } = base.profile.inputs;
  const missing = { ...base.profile, inputs };
  const cases: [string, string | undefined, RegExp][] = [
    ['corrupt', '{"format": "nightshift-profile/1", "rows": ', /baseline\.json is not JSON/],
    ['not a profile', '{"hello": 1}', /not a nightshift profile/],
    ['foreign', JSON.stringify(foreign), /another model signature: it has no model input "features"/],
    ['missing column', JSON.stringify(missing), /no profile for input column\(s\) "f3"/],
    ['absent', undefined, /cannot read .*baseline\.json/],
  ];
  for (const [label, text, message] of cases) {
    const spec = { ...mlpSpec(), monitor: { baseline: { uri: 'baseline.json' } } };
    const fx = await fixture(t, { files: { 'a.csv': normalCsv(10, 7) }, spec });
    if (text !== undefined) await writeIn(fx.dir, 'baseline.json', text);
    await assert.rejects(runJob(fx.job), (err: unknown) => {
      assert.ok(err instanceof JobSpecError, `${label}: ${String(err)}`);
      assert.match(err.message, message, label);
      assert.match(err.message, /monitor\.baseline/);
      return true;
    });
    assert.ok(!existsSync(fx.outputDir), `${label}: nothing written`);
  }
});

test('baseline: previous judges against the newest earlier published run, and is not judged on the first', async (t) => {
  const spec = { ...mlpSpec(), monitor: { baseline: 'previous' as const } };
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(3000, 8) }, spec });
  const first = await runJob(fx.job);
  assert.equal(first.report.monitoring?.verdict, 'not_judged');
  const next = '2026-11-29';
  await writeIn(fx.dir, `in/${next}/a.csv`, normalCsv(3000, 9, 1));
  const second = await runJob(fx.job, { date: next });
  const m = second.report.monitoring as MonitoringSection;
  assert.equal(m.baseline.source, 'previous');
  assert.equal(m.baseline.from, `test-job@${DATE}`);
  assert.equal(m.verdict, 'drift');
  // A rerun of the first date still compares with nothing earlier.
  const rerun = await runJob(await writeJob(fx.dir, spec), { date: DATE });
  assert.equal(rerun.report.monitoring?.verdict, 'not_judged');
});

test('nightshift profile writes a baseline from reference data that a run then judges against', async (t) => {
  const spec = { ...mlpSpec(), monitor: { baseline: { uri: 'baseline.json' }, onDrift: 'fail' as const } };
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(3000, 31, 1) }, spec });
  await writeIn(fx.dir, 'reference/train.csv', normalCsv(5000, 32));
  const code = await main(['profile', fx.job.file, '--input', path.join(fx.dir, 'reference/train.csv'), '--out', path.join(fx.dir, 'baseline.json')]);
  assert.equal(code, 0);
  const baseline = JSON.parse(await readFile(path.join(fx.dir, 'baseline.json'), 'utf8')) as RunProfile;
  assert.equal(baseline.rows.read, 5000);
  assert.equal(baseline.run, undefined);
  assert.ok(baseline.scores.score, 'the model scored the reference data');
  assert.ok(!existsSync(fx.outputDir), 'profiling writes no run output');
  const r = await runJob(fx.job);
  assert.equal(r.report.status, 'failed');
  assert.equal((r.report.monitoring as MonitoringSection).baseline.uri, path.join(fx.dir, 'baseline.json'));
});
