/**
 * What a new user meets first: --version, "did you mean" for a mistyped command or flag, and
 * validate's warning about an output prefix that every day's run would replace.
 *
 *   node --import tsx --test test/first-hour.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest } from '../src/cli/did-you-mean.js';
import { fixture, MLP_HEADER, mlpRows, mlpSpec, toCsv } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';

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
});
