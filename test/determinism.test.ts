/** The same input gives byte-identical parts, whatever the concurrency and number of workers. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DATE, fixture, mlpRows, MLP_HEADER, mlpSpec, readOutput, toCsv } from './helpers/jobs.js';
import { queueHarness } from './helpers/workers.js';

it('concurrency 1, concurrency 4 and two worker processes write byte-identical parts', async (t) => {
  const spec = mlpSpec();
  spec.limits = { batchRows: 500, maxErrorRate: 0.5 };
  spec.input.shardBytes = 64 * 1024; // the big file becomes several byte-range shards
  const big = mlpRows(6000, { seed: 3, idPrefix: 'big-', noteFor: (i) => (i % 50 === 0 ? `multi\nline "${i}"` : `n${i}`) });
  big[17] = ['bad-1', 'x', 'not-a-number', '1', '2', '3', '4', '5', '6', '7'];
  const fx = await fixture(t, {
    spec,
    files: { 'big.csv': toCsv(MLP_HEADER, big), 'small.csv': toCsv(MLP_HEADER, mlpRows(700, { seed: 4, idPrefix: 's-' })) },
  });
  const h = await queueHarness(t);

  const digest = async (): Promise<Map<string, string>> => {
    const out = await readOutput(fx.outputDir);
    assert.ok(out.success, 'published');
    const m = new Map<string, string>();
    for (const name of [...out.success.parts, ...out.errors]) {
      const shard = name.replace(/-a\d+-[0-9a-f]{4}\./, '.');
      m.set(
        shard,
        createHash('sha256')
          .update(await out.text(name))
          .digest('hex'),
      );
    }
    return m;
  };
  const runWith = async (workers: Record<string, string>[], rerun: boolean): Promise<Map<string, string>> => {
    const started = [];
    for (const env of workers) started.push(await h.spawnWorker(env));
    const run = await h.trigger(fx.job, DATE, { rerun });
    const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 60_000 });
    assert.equal(rec.status, 'succeeded', h.logs());
    assert.ok((rec.shards ?? 0) >= 4, `several shards (${rec.shards})`);
    const d = await digest();
    await Promise.all(started.map((w) => w.kill()));
    return d;
  };

  const one = await runWith([{ NIGHTSHIFT_CONCURRENCY: '1' }], false);
  const four = await runWith([{ NIGHTSHIFT_CONCURRENCY: '4' }], true);
  const two = await runWith([{ NIGHTSHIFT_CONCURRENCY: '1' }, { NIGHTSHIFT_CONCURRENCY: '2', NIGHTSHIFT_INFERENCE: 'main' }], true);
  assert.ok(one.size >= 5, 'parts and an errors file compared');
  assert.deepEqual(four, one, 'concurrency 4 = concurrency 1');
  assert.deepEqual(two, one, 'two processes = one');
});
