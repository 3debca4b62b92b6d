/** `nightshift score --threads N`: shards on N threads give the same parts as one thread. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../src/core/errors.js';
import { scoreRun } from '../src/run/score-run.js';
import { Stores } from '../src/storage/stores.js';
import { DATE, fixture, outputDigests, mlpRows, MLP_HEADER, mlpSpec, readOutput, toCsv } from './helpers/jobs.js';

it('threads 1 and 3 write byte-identical parts and the same report counts', async (t) => {
  const spec = mlpSpec();
  spec.input.shardBytes = 64 * 1024;
  const big = mlpRows(5000, { seed: 9, noteFor: (i) => (i % 40 === 0 ? `two\nlines ${i}` : `n${i}`) });
  big[3000] = ['bad', 'x', 'oops', '1', '2', '3', '4', '5', '6', '7'];
  const fx = await fixture(t, { spec, files: { 'big.csv': toCsv(MLP_HEADER, big), 'small.csv': toCsv(MLP_HEADER, mlpRows(300, { seed: 2, idPrefix: 's' })) } });
  const stores = new Stores();
  t.after(() => stores.close());
  const one = await scoreRun(fx.job, stores, { date: DATE, threads: 1 });
  const a = await outputDigests(fx.outputDir);
  const three = await scoreRun(fx.job, stores, { date: DATE, threads: 3 });
  const b = await outputDigests(fx.outputDir);
  assert.equal(one.report.status, 'succeeded');
  assert.equal(three.report.status, 'succeeded');
  assert.ok(Object.keys(a).length >= 4, `several parts (${Object.keys(a).join(', ')})`);
  assert.deepEqual(b, a);
  assert.deepEqual(three.report.rows, one.report.rows);
  assert.equal(three.report.rows.read, 5300);
  assert.equal(three.report.rows.rejected, 1);
});

it('an input error in a shard thread fails the run with the located error; nothing is published', async (t) => {
  const spec = mlpSpec();
  const fx = await fixture(t, {
    spec,
    files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(100)), 'b.csv': `${MLP_HEADER.join(',')}\nb1,"unclosed,1,2,3,4,5,6,7,8\n` },
  });
  const stores = new Stores();
  t.after(() => stores.close());
  const r = await scoreRun(fx.job, stores, { date: DATE, threads: 2 });
  assert.equal(r.report.status, 'failed');
  assert.ok(r.inputError instanceof InputError);
  assert.match(r.inputError.message, /b\.csv:2: a quoted field is never closed/);
  const out = await readOutput(fx.outputDir);
  assert.equal(out.success, undefined);
  assert.deepEqual(out.parts, []);
});

it('a shard thread that ends without an error event fails the run instead of leaving it waiting; nothing is published', async (t) => {
  const fx = await fixture(t, {
    spec: mlpSpec(),
    files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(300)), 'b.csv': toCsv(MLP_HEADER, mlpRows(300, { seed: 4, idPrefix: 'b' })) },
  });
  const stores = new Stores();
  t.after(() => stores.close());
  // Threads take their environment when they start: the failpoint is set only around this run.
  const before = process.env.NIGHTSHIFT_FAILPOINTS;
  process.env.NIGHTSHIFT_FAILPOINTS = 'shard-batch:exit-thread';
  t.after(() => {
    if (before === undefined) delete process.env.NIGHTSHIFT_FAILPOINTS;
    else process.env.NIGHTSHIFT_FAILPOINTS = before;
  });
  const outcome = await scoreRun(fx.job, stores, { date: DATE, threads: 2 }).then(
    (r) => `status ${r.report.status}: ${r.report.reason ?? ''}`,
    (err: Error) => `threw: ${err.message}`,
  );
  assert.match(outcome, /a shard thread exited \(code 7\) before its shard was done/);
  const out = await readOutput(fx.outputDir);
  assert.equal(out.success, undefined);
  assert.deepEqual(out.parts, []);
});
