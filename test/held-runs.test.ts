/**
 * monitor.onDrift: hold. A drifted run writes its parts and report but publishes nothing; a
 * reader following _SUCCESS keeps seeing the previously published attempt. approve publishes it
 * as a successful run would; reject fails it and removes its parts. Through `score` (in-process,
 * CLI approve) and through real workers (HTTP approve / reject).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../src/cli/main.js';
import { openQueueClient } from '../src/queue/queue-client.js';
import { RunStateError } from '../src/core/errors.js';
import { createApiServer } from '../src/http/server.js';
import { approveRun, rejectRun } from '../src/run/held-runs.js';
import type { RunReport } from '../src/report/run-report.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { Stores } from '../src/storage/stores.js';
import { DATE, fixture, mlpSpec, runJob, writeIn, writeJob, type Fixture } from './helpers/jobs.js';
import { queueHarness } from './helpers/workers.js';
import { normalCsv } from './helpers/monitoring.js';

const HOLD = { baseline: { uri: 'baseline.json' }, onDrift: 'hold' as const };

/** A job whose baseline is the profile of its own first (unshifted, published) run. */
async function heldSetup(t: Parameters<typeof fixture>[0]): Promise<{ fx: Fixture; held: LoadedJob; firstParts: string[] }> {
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(3000, 21) } });
  const first = await runJob(fx.job);
  assert.equal(first.report.status, 'succeeded');
  await writeIn(fx.dir, 'baseline.json', await readFile(path.join(fx.outputDir, '_profile.json')));
  await writeIn(fx.inputDir, 'a.csv', normalCsv(3000, 22, 1));
  const held = await writeJob(fx.dir, { ...mlpSpec(), monitor: HOLD });
  return { fx, held, firstParts: first.report.output.parts };
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function success(dir: string): Promise<{ attempt: string; parts: string[] }> {
  return JSON.parse(await readFile(path.join(dir, '_SUCCESS'), 'utf8')) as { attempt: string; parts: string[] };
}

test('hold then approve (score, CLI approve): nothing new published until approved, then exactly as a successful run', async (t) => {
  const { fx, held, firstParts } = await heldSetup(t);
  const r = await runJob(held);
  assert.equal(r.report.status, 'held');
  assert.match(r.report.reason ?? '', /held for approval .*nightshift approve test-job@2026-11-28/);
  // The held attempt's parts are there, but _SUCCESS still names the first attempt's.
  const files = await names(fx.outputDir);
  for (const p of r.report.output.parts) assert.ok(files.includes(p), `held part ${p} kept`);
  assert.deepEqual((await success(fx.outputDir)).parts, firstParts);
  const latestBefore = await readFile(path.join(fx.dir, 'out', '_latest.json'), 'utf8');

  process.env.NIGHTSHIFT_JOBS_DIR = fx.dir;
  t.after(() => delete process.env.NIGHTSHIFT_JOBS_DIR);
  const code = await main(['approve', `test-job@${DATE}`, '--reason', 'new merchant mix, expected', '--by', 'ana']);
  assert.equal(code, 0);
  const report = JSON.parse(await readFile(path.join(fx.outputDir, '_report.json'), 'utf8')) as RunReport;
  assert.equal(report.status, 'succeeded');
  assert.equal(report.reason, undefined);
  assert.equal(report.approval?.decision, 'approved');
  assert.equal(report.approval?.by, 'ana');
  assert.equal(report.approval?.reason, 'new merchant mix, expected');
  assert.ok(Date.parse(report.approval?.at ?? '') > 0);
  assert.equal(report.monitoring?.verdict, 'drift', 'the evidence stays in the report');
  const s = await success(fx.outputDir);
  assert.equal(s.attempt, r.report.attempt);
  assert.deepEqual(s.parts, r.report.output.parts);
  // The old attempt's parts are gone, as after any successful rerun; _latest.json was written.
  const after = await names(fx.outputDir);
  for (const p of firstParts) assert.ok(!after.includes(p), `old part ${p} removed`);
  assert.equal(after.filter((n) => n.startsWith('part-')).length, r.report.output.parts.length);
  assert.ok(existsSync(path.join(fx.dir, 'out', '_latest.json')));
  assert.equal(latestBefore.length > 0, true);
  // Twice is refused, clearly.
  const stores = new Stores();
  await assert.rejects(
    approveRun({ spec: held.spec, baseDir: held.baseDir, stores, logicalDate: DATE }, { by: 'bob' }),
    (err: unknown) => err instanceof RunStateError && /is succeeded, not held/.test(err.message),
  );
  assert.equal(await main(['reject', `test-job@${DATE}`]), 2);
});

test('hold then reject (score): the held parts are removed, the earlier published attempt stays', async (t) => {
  const { fx, held, firstParts } = await heldSetup(t);
  const r = await runJob(held);
  assert.equal(r.report.status, 'held');
  const stores = new Stores();
  const report = await rejectRun({ spec: held.spec, baseDir: held.baseDir, stores, logicalDate: DATE }, { by: 'ana', reason: 'bad feed' });
  assert.equal(report.status, 'failed');
  assert.match(report.reason ?? '', /^rejected by ana: bad feed/);
  const onDisk = JSON.parse(await readFile(path.join(fx.outputDir, '_report.json'), 'utf8')) as RunReport;
  assert.equal(onDisk.approval?.decision, 'rejected');
  const files = await names(fx.outputDir);
  for (const p of r.report.output.parts) assert.ok(!files.includes(p), `held part ${p} removed`);
  for (const p of firstParts) assert.ok(files.includes(p), `published part ${p} kept`);
  assert.deepEqual((await success(fx.outputDir)).parts, firstParts);
});

test('hold then approve and hold then reject through workers, decided over HTTP', async (t) => {
  const { fx, held } = await heldSetup(t);
  const h = await queueHarness(t);
  await h.spawnWorker({ NIGHTSHIFT_LOCK_MS: '4000', NIGHTSHIFT_STALLED_MS: '2000' });
  const prevPrefix = process.env.NIGHTSHIFT_REDIS_PREFIX;
  process.env.NIGHTSHIFT_REDIS_PREFIX = h.prefix;
  t.after(() => (prevPrefix === undefined ? delete process.env.NIGHTSHIFT_REDIS_PREFIX : (process.env.NIGHTSHIFT_REDIS_PREFIX = prevPrefix)));
  const client = await openQueueClient();
  t.after(() => client.close());
  const token = randomBytes(16).toString('hex');
  const server: Server = createApiServer({ token, client, jobs: async () => new Map([[held.spec.name, held]]) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (p: string, body: unknown): Promise<Response> =>
    fetch(base + p, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });

  // score published a1-… in the store; the Redis counter knows nothing of it, so the first
  // trigger's a1 is renumbered after it by the plan step (worker/renumber-attempt.ts).
  for (const decision of ['approve', 'reject'] as const) {
    const trig0 = await h.trigger(held, DATE, { rerun: true });
    const rec = await h.waitForRun(trig0.runId, trig0.attempt);
    const trig = { runId: trig0.runId, attempt: rec.attempt };
    if (decision === 'approve') {
      const first = await h.registry.get(trig0.runId, trig0.attempt);
      assert.match(trig0.attempt, /^a1-/, 'the Redis counter starts at 1');
      assert.equal(first?.status, 'superseded', 'a1 from Redis could not publish over the a1 score published');
      assert.equal(first?.supersededBy, rec.attempt);
      assert.match(rec.attempt, /^a2-/, 'renumbered after the store');
    }
    assert.equal(rec.status, 'held', rec.reason);
    const before = await success(fx.outputDir);
    assert.notEqual(before.attempt, trig.attempt, 'a held attempt is not published');
    assert.equal((await fetch(`${base}/runs/${trig.runId}/${decision}`, { method: 'POST', body: '{}' })).status, 401, 'needs the token');
    const res = await post(`/runs/${trig.runId}/${decision}`, { by: 'ops-bot', reason: `${decision} via http` });
    const body = (await res.json()) as { status: string; approval: { by: string } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.approval.by, 'ops-bot (HTTP)');
    const after = await h.registry.get(trig.runId, trig.attempt);
    const s = await success(fx.outputDir);
    if (decision === 'approve') {
      assert.equal(body.status, 'succeeded');
      assert.equal(after?.status, 'succeeded');
      assert.equal(s.attempt, trig.attempt);
    } else {
      assert.equal(body.status, 'failed');
      assert.equal(after?.status, 'failed');
      assert.equal(s.attempt, before.attempt, 'rejecting leaves the published attempt');
      const parts = (await names(fx.outputDir)).filter((n) => n.startsWith('part-') && n.includes(trig.attempt));
      assert.deepEqual(parts, []);
    }
    assert.equal((await post(`/runs/${trig.runId}/${decision}`, {})).status, 409, 'a decided run cannot be decided again');
  }
});
