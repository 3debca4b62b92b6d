/**
 * Faults at the edges of a shard's and a run's life, with real worker processes:
 * a worker whose event loop blocks past its lock, and a crash between the report and _SUCCESS.
 * Faults are injected with NIGHTSHIFT_FAILPOINTS (src/core/failpoints.ts).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseCsv } from './helpers/jobs.js';
import { DATE, fixture, mlpRows, MLP_HEADER, mlpSpec, readOutput, toCsv } from './helpers/jobs.js';
import { queueHarness, waitFor } from './helpers/workers.js';

const FAST_LOCKS = { NIGHTSHIFT_LOCK_MS: '1500', NIGHTSHIFT_STALLED_MS: '1000', NIGHTSHIFT_INFERENCE: 'main' };

async function idsInParts(outputDir: string, parts: readonly string[]): Promise<string[]> {
  const out = await readOutput(outputDir);
  const ids: string[] = [];
  for (const p of parts) ids.push(...parseCsv(await out.text(p)).rows.map((r) => r[0] ?? ''));
  return ids;
}

it('a worker whose event loop blocks past its lock cannot publish; every row is scored once', async (t) => {
  const files: Record<string, string> = {};
  const expected: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    const rows = mlpRows(4000, { idPrefix: `${name}-`, seed: name.charCodeAt(0) });
    expected.push(...rows.map((r) => r[0] ?? ''));
    files[`${name}.csv`] = toCsv(MLP_HEADER, rows);
  }
  const spec = mlpSpec();
  spec.limits = { batchRows: 256, maxErrorRate: 0 };
  const fx = await fixture(t, { files, spec });
  const h = await queueHarness(t);
  const blocked = await h.spawnWorker({ ...FAST_LOCKS, NIGHTSHIFT_FAILPOINTS: 'shard-batch:block-event-loop:6000' });
  const run = await h.trigger(fx.job, DATE);
  // The blocked worker takes the first shard and stops answering after its first batch.
  await waitFor('a shard to start', async () => ((await h.registry.get(run.runId, run.attempt))?.status === 'running' ? true : undefined));
  const healthy = await h.spawnWorker(FAST_LOCKS);
  const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 60_000 });
  assert.equal(rec.status, 'succeeded', h.logs());

  const out = await readOutput(fx.outputDir);
  assert.ok(out.success, '_SUCCESS written');
  assert.deepEqual([...out.parts].sort(), [...out.success.parts].sort(), 'the prefix holds exactly the published parts');
  const before = await Promise.all(out.parts.map((p) => stat(path.join(fx.outputDir, p))));
  const stalled = (await h.shardJobs(run.runId, run.attempt)).filter((j) => (j.stalledCounter ?? 0) > 0);
  assert.equal(stalled.length, 1, `one shard was taken from the blocked worker\n${h.logs()}`);

  // Let the blocked worker wake up and reach its publish step: it must refuse.
  await blocked.waitForOutput(/lost its lock|Missing lock|lock/i, 30_000);
  const after = await Promise.all(out.parts.map((p) => stat(path.join(fx.outputDir, p))));
  assert.deepEqual(
    after.map((s) => [s.ino, s.mtimeMs]),
    before.map((s) => [s.ino, s.mtimeMs]),
    'no part was replaced by the worker that lost its lock',
  );
  assert.deepEqual(
    (await readOutput(fx.outputDir)).names.filter((n) => n.includes('nightshift-tmp')),
    [],
    'no temp file left',
  );
  const ids = await idsInParts(fx.outputDir, out.success.parts);
  assert.equal(ids.length, expected.length, 'no row lost or duplicated');
  assert.deepEqual([...ids].sort(), [...expected].sort());
  assert.ok(healthy.running);
});

it('a crash between the report and _SUCCESS: the retried finalize publishes exactly once', async (t) => {
  const rows = mlpRows(3000);
  const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, rows.slice(0, 1500)), 'b.csv': toCsv(MLP_HEADER, rows.slice(1500)) } });
  const h = await queueHarness(t);
  const crashing = await h.spawnWorker({ ...FAST_LOCKS, NIGHTSHIFT_FAILPOINTS: 'before-success:crash' });
  const run = await h.trigger(fx.job, DATE);
  const exit = await crashing.exited;
  assert.equal(exit.signal, 'SIGKILL', 'the worker died at the failpoint');
  const mid = await readOutput(fx.outputDir);
  assert.equal(mid.report?.status, 'succeeded', 'the report was written');
  assert.equal(mid.success, undefined, 'but no _SUCCESS: the run is not published');
  assert.equal((await h.registry.get(run.runId, run.attempt))?.status, 'finalizing');

  await h.spawnWorker(FAST_LOCKS);
  const rec = await h.waitForRun(run.runId, run.attempt, { timeoutMs: 30_000 });
  assert.equal(rec.status, 'succeeded', h.logs());
  const out = await readOutput(fx.outputDir);
  assert.ok(out.success);
  assert.equal(out.success.attempt, run.attempt);
  assert.deepEqual([...out.parts].sort(), [...out.success.parts].sort());
  assert.equal(out.parts.length, 2);
  const ids = await idsInParts(fx.outputDir, out.success.parts);
  assert.deepEqual(
    ids,
    rows.map((r) => r[0]),
    'every row once, in order',
  );
  assert.equal(out.report?.rows.read, 3000);
});
