/**
 * Metrics and health as a scraper and a kubelet see them: a real worker with --metrics-port
 * scores a run; its /metrics has the run, row, shard, finalize, queue and process series; its
 * /healthz and /readyz answer without auth, and /readyz turns 503 when Redis goes. A failed run
 * fails its finalize job in BullMQ. A metrics port in use is one line and exit 2.
 *
 *   node --import tsx --test test/metrics-health.test.ts
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { finalizeJobId } from '../src/queue/names.js';
import { DATE, fixture, MLP_HEADER, mlpRows, mlpSpec, toCsv } from './helpers/jobs.js';
import { runCli, startRedisOn } from './helpers/redis-process.js';
import { freePort, openQueueHarness, randomPrefix, waitFor } from './helpers/workers.js';

const get = async (url: string): Promise<{ status: number; text: string }> => {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: r.status, text: await r.text() };
  } catch {
    return { status: -1, text: '' };
  }
};

it('a worker exposes metrics and probes; a failed run fails its finalize job', { timeout: 120_000 }, async (t) => {
  const spec = mlpSpec();
  spec.name = 'metered';
  spec.limits = { maxErrorRate: 0 };
  const rows = mlpRows(40);
  const bad = [...rows.slice(0, 10), ['x1', 'n', 'oops', ...Array.from({ length: 7 }, () => '0')]];
  const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, rows) }, spec });
  const redisPort = await freePort();
  let redis = await startRedisOn(redisPort, ['--appendonly', 'no']);
  const h = await openQueueHarness(randomPrefix(), redis.url);
  t.after(async () => {
    await h.close();
    await redis.handle.kill();
  });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await h.spawnWorker({ NIGHTSHIFT_METRICS_PORT: String(port) });
  assert.equal((await get(`${base}/healthz`)).status, 200);
  const ready = await get(`${base}/readyz`);
  assert.equal(ready.status, 200, ready.text);

  const ok = await h.trigger(fx.job, DATE);
  assert.equal((await h.waitForRun(ok.runId, ok.attempt)).status, 'succeeded', h.logs());
  // A second date whose input has a bad row: the run fails on its error rate.
  const { writeIn } = await import('./helpers/jobs.js');
  await writeIn(fx.dir, 'in/2026-11-27/a.csv', toCsv(MLP_HEADER, bad));
  const failed = await h.trigger(fx.job, '2026-11-27');
  assert.equal((await h.waitForRun(failed.runId, failed.attempt)).status, 'failed', h.logs());
  const fin = await waitFor(
    'the finalize job to fail',
    async () => {
      const j = await h.runs.getJob(finalizeJobId(failed.runId, failed.attempt));
      const state = await j?.getState();
      return state === 'failed' ? j : undefined;
    },
    { timeoutMs: 15_000 },
  );
  assert.match(fin?.failedReason ?? '', /run failed: .*error/i);
  assert.equal(await (await h.runs.getJob(finalizeJobId(ok.runId, ok.attempt)))?.getState(), 'completed');

  const m = await get(`${base}/metrics`);
  assert.equal(m.status, 200);
  const has = (re: RegExp): void => assert.match(m.text, re, `metrics lack ${re}`);
  has(/nightshift_runs_total\{job="metered",status="succeeded"\} 1/);
  has(/nightshift_runs_total\{job="metered",status="failed"\} 1/);
  has(/nightshift_rows_scored_total\{job="metered"\} 50/);
  has(/nightshift_rows_rejected_total\{job="metered"\} 1/);
  has(/nightshift_shard_duration_seconds_count\{job="metered",outcome="done"\} 2/);
  has(/nightshift_finalize_duration_seconds_count\{job="metered",status="succeeded"\} 1/);
  has(/nightshift_bytes_read_total\{job="metered"\} \d+/);
  has(/nightshift_inference_seconds_total\{job="metered"\} [\d.e-]+/);
  has(/nightshift_queue_jobs\{queue="runs",state="failed"\} 1/);
  has(/nightshift_queue_jobs\{queue="shards",state="waiting"\} 0/);
  has(/nightshift_last_success_timestamp_seconds\{job="metered"\} \d{10}/);
  has(/nodejs_eventloop_lag_seconds \d/);
  has(/process_resident_memory_bytes \d/);
  assert.doesNotMatch(m.text, /metered@|a1-/, 'no run ids in labels');

  await redis.handle.kill();
  await waitFor('/readyz to say Redis is gone', async () => ((await get(`${base}/readyz`)).status === 503 ? true : undefined), { timeoutMs: 10_000 });
  assert.equal((await get(`${base}/healthz`)).status, 200);
  redis = await startRedisOn(redisPort, ['--appendonly', 'no']); // back, for the harness to clean up
  await waitFor('/readyz ready again', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 15_000 });
});

it('a metrics port in use: one line, exit 2', { timeout: 60_000 }, async (t) => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  const r = await runCli(['worker', '--metrics-port', String(port)], { NIGHTSHIFT_REDIS_PREFIX: randomPrefix() }, 30_000);
  assert.equal(r.code, 2, r.output);
  assert.match(r.output, new RegExp(`metrics port ${port} on 127\\.0\\.0\\.1 is already in use`));
  assert.equal(r.output.trim().split('\n').length, 1, r.output);
});
