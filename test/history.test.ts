/**
 * `nightshift history <job>` through the real CLI: three dates scored with `baseline: previous`,
 * the third shifted by one standard deviation; history shows one line per run with rows,
 * rejection %, score mean/p50 and the worst drift, then per-column sparklines with verdicts.
 *
 *   node --import tsx --test test/history.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { sparkline } from '../src/cli/commands/history.js';
import type { HistoryRow } from '../src/run/run-history.js';
import { fixture, mlpSpec, writeIn } from './helpers/jobs.js';
import { normalCsv } from './helpers/monitoring.js';
import { runCli } from './helpers/redis-process.js';

test('history: one line per run, the shifted run flagged, sparklines per column', async (t) => {
  const spec = { ...mlpSpec(), monitor: { baseline: 'previous' as const } };
  const fx = await fixture(t, { files: {}, spec });
  const dates = ['2026-11-25', '2026-11-26', '2026-11-27'];
  for (const [i, date] of dates.entries()) {
    await writeIn(fx.dir, `in/${date}/a.csv`, normalCsv(2000, 10 + i, i === 2 ? 1 : 0));
    const r = await runCli(['score', fx.job.file, '--date', date]);
    assert.equal(r.code, 0, r.output);
  }
  // A date with a bad row: rejection rate shows.
  await writeIn(fx.dir, 'in/2026-11-28/a.csv', `${normalCsv(1999, 20)}r-bad,n,x,1,1,1,1,1,1,1\n`);
  assert.equal((await runCli(['score', fx.job.file, '--date', '2026-11-28'])).code, 0);

  const r = await runCli(['history', fx.job.file]);
  assert.equal(r.code, 0, r.output);
  const lines = r.output.split('\n');
  assert.match(lines[0] ?? '', /^DATE +STATUS +ATTEMPT +ROWS +REJ % +score mean +p50 +WORST DRIFT$/);
  assert.match(lines[1] ?? '', /^2026-11-25 +succeeded +a1-\w+ +2000 +0\.00 +[\d.]+ +[\d.]+ +\(not judged\)$/);
  assert.match(lines[2] ?? '', /^2026-11-26 +succeeded +a1-\w+ +2000 +0\.00 +[\d.]+ +[\d.]+ +\w+ \w+ [\d.e-]+ \(limit [\d.]+\)$/);
  assert.match(lines[3] ?? '', /^2026-11-27 +succeeded +a1-\w+ +2000 +0\.00 +[\d.]+ +[\d.]+ +\w+ (wasserstein|psi|jensenShannon|ks) [\d.]+ \(limit [\d.]+\)$/);
  assert.match(lines[4] ?? '', /^2026-11-28 +succeeded +a1-\w+ +2000 +0\.05 /);
  assert.match(r.output, /column means, oldest → newest \(4 runs\), drift: · ok ! warn ✗ drift/);
  // f0's mean jumps on the 27th (shifted by 1 sd): top bar there; drifted there against the 26th
  // and on the 28th against the 27th (baseline: previous), not judged on the first.
  assert.match(r.output, /\n {2}f0 +[▁▂▃]{2}█[▁▂▃] + ·✗✗ +-?[\d.e-]+ → -?[\d.e-]+\n/);
  assert.match(r.output, /\n {2}score +\S{4} /);

  const json = await runCli(['history', fx.job.file, '--last', '2', '--json']);
  const rows = JSON.parse(json.output) as HistoryRow[];
  assert.deepEqual(
    rows.map((x) => x.logicalDate),
    ['2026-11-27', '2026-11-28'],
  );
  assert.equal(rows[0]?.verdict, 'drift');
  assert.equal(rows[1]?.rows.rejected, 1);
  assert.ok((rows[0]?.columns.f0?.mean ?? 0) > 0.8, 'the shifted mean');

  // A job that has not run yet, and a bad --last.
  const fresh = await writeIn(fx.dir, 'fresh.yaml', stringify({ ...spec, name: 'fresh', output: { uri: 'fresh/{{date}}/' } }));
  assert.match((await runCli(['history', fresh])).output, /no runs of fresh have left a report yet/);
  const bad = await runCli(['history', fx.job.file, '--last', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.output, /--last "0": expected a whole number of runs, at least 1/);
});

test('sparkline scales between min and max, gaps stay blank', () => {
  assert.equal(sparkline([0, 7, 3.5, null, 7]), '▁█▅ █');
  assert.equal(sparkline([2, 2]), '▄▄');
});
