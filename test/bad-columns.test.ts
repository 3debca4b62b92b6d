/** Input files whose columns do not fit the job: each fails the run with a message naming the file and the column. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../src/core/errors.js';
import { fixture, mlpRows, MLP_HEADER, readOutput, runJob, toCsv } from './helpers/jobs.js';

it('a file with the wrong delimiter fails with a hint about input.csv.delimiter; nothing is published', async (t) => {
  const rows = mlpRows(20);
  const semicolons = [MLP_HEADER.join(';'), ...rows.map((r) => r.join(';'))].join('\n') + '\n';
  const fx = await fixture(t, { files: { 'semi.csv': semicolons } });
  const result = await runJob(fx.job);
  assert.equal(result.report.status, 'failed');
  assert.ok(result.inputError instanceof InputError);
  assert.match(result.report.reason ?? '', /semi\.csv:1 column "\w+": column "\w+" is not in the header \(found: "id;note;f0/);
  assert.match(result.report.reason ?? '', /is input\.csv\.delimiter right\?/);
  const out = await readOutput(fx.outputDir);
  assert.equal(out.success, undefined);
  assert.deepEqual(out.parts, []);
});

it('a missing id or feature column fails the run naming the column and what the header has', async (t) => {
  for (const drop of ['id', 'f3']) {
    const keep = MLP_HEADER.map((h, i) => [h, i] as const).filter(([h]) => h !== drop);
    const rows = mlpRows(10).map((r) => keep.map(([, i]) => r[i] ?? ''));
    const fx = await fixture(t, {
      files: {
        'a.csv': toCsv(
          keep.map(([h]) => h),
          rows,
        ),
      },
    });
    const result = await runJob(fx.job);
    assert.equal(result.report.status, 'failed', drop);
    assert.match(result.report.reason ?? '', new RegExp(`a\\.csv:1 column "${drop}": column "${drop}" is not in the header \\(found: "`));
    assert.equal((await readOutput(fx.outputDir)).success, undefined);
  }
});
