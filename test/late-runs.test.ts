/**
 * Late runs (schedule.lateAfter): two scheduler replicas on a fake clock and real Redis; a run
 * that has not succeeded 3 h after its tick is reported once (a signed `late` webhook to a real
 * HTTP receiver on loopback) and nightshift_run_late{job} is 1 until that run succeeds; a run
 * that succeeds in time is not late; a replica started after a deadline passed still reports it.
 *
 *   node --import tsx --test test/late-runs.test.ts
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { registry as metricsRegistry } from '../src/core/metrics.js';
import { RUNS_QUEUE } from '../src/queue/names.js';
import { registerQueueGauges } from '../src/queue/queue-metrics.js';
import { RunRegistry } from '../src/queue/run-registry.js';
import type { LateRun } from '../src/run/notify-run.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { loadJobFile } from '../src/spec/load-spec.js';
import { FakeClock } from './helpers/fake-clock.js';

const SECRET = 'late-test-secret-0123456789';
let redis: Redis;
let dir: string;

before(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  dir = await mkdtemp(path.join(tmpdir(), 'ns-late-'));
  process.env.LATE_TEST_SECRET = SECRET;
});
after(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

function verify(headers: IncomingMessage['headers'], raw: string): boolean {
  const ts = String(headers['x-nightshift-timestamp'] ?? '');
  const sig = String(headers['x-nightshift-signature'] ?? '');
  const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`;
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function lateGauge(job: string): Promise<number | undefined> {
  const m = (await metricsRegistry.getMetricsAsJSON()).find((x) => x.name === 'nightshift_run_late');
  return (m?.values as { labels: { job?: string }; value: number }[] | undefined)?.find((v) => v.labels.job === job)?.value;
}

it('a run not succeeded lateAfter its tick is reported once, by webhook and metric', async (t) => {
  const prefix = `test-late-${randomBytes(4).toString('hex')}`;
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  const runs = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  t.after(() => runs.close());
  const registry = new RunRegistry(redis, prefix);
  registerQueueGauges(redis, prefix);

  const received: { event: string; body: LateRun & { event: string } }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      if (!verify(req.headers, raw)) return void res.writeHead(401).end();
      received.push({ event: String(req.headers['x-nightshift-event']), body: JSON.parse(raw) as LateRun & { event: string } });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const file = path.join(dir, 'tardy.yaml');
  await writeFile(
    file,
    `name: tardy\nschedule: { cron: "0 2 * * *", timezone: UTC, logicalDate: fire-date, catchup: none, overlap: queue, lateAfter: 3h }\nmodel: { uri: m.onnx, inputs: [{ name: x, columns: [a] }], outputs: [{ name: y, columns: [b] }] }\ninput: { uri: "in/{{date}}/" }\noutput: { uri: "out/{{date}}/" }\nnotify:\n  - { url: "${url}", events: [late], secretEnv: LATE_TEST_SECRET }\n`,
  );
  const job = await loadJobFile(file);
  const clock = new FakeClock(Date.parse('2026-11-28T01:00:00Z'));
  const lates: LateRun[] = [];
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await redis.ping();
  };
  const start = (): Scheduler =>
    new Scheduler({ redis, prefix, runs, registry, now: () => clock.now() }, clock, {
      onTick: () => undefined,
      onLate: (_j, l) => lates.push(l),
      onError: (_j, e) => assert.fail(String(e)),
    });
  const replicas = [start(), start()];
  for (const s of replicas) await s.setJobs([job]);
  await waitFor('both replicas asleep', () => clock.waiting === 2);

  // 02:00 tick fires (no workers: the run stays queued); at 05:00 it is late.
  await clock.advanceTo(new Date('2026-11-28T04:59:00Z'), settle);
  await waitFor('the tick', async () => (await registry.get('tardy@2026-11-28'))?.status === 'queued');
  assert.equal(received.length, 0, 'not late before the deadline');
  await clock.advanceTo(new Date('2026-11-28T05:00:01Z'), settle);
  await waitFor('the late webhook', () => received.length === 1);
  const body = received[0]?.body;
  assert.equal(received[0]?.event, 'late');
  assert.equal(body?.event, 'late');
  assert.equal(body?.runId, 'tardy@2026-11-28');
  assert.equal(body?.status, 'queued');
  assert.equal(body?.deadline, '2026-11-28T05:00:00.000Z');
  assert.match(
    body?.reason ?? '',
    /^no successful run of tardy@2026-11-28 by 2026-11-28T05:00:00\.000Z \(schedule\.lateAfter 3h after the 2026-11-28 02:00:00 tick\); attempt a1-\w+ is queued$/,
  );
  assert.equal(lates.length, 1, 'one replica reported it');
  assert.equal(await lateGauge('tardy'), 1);

  // The next day's run succeeds before its deadline: not late. The late one succeeding clears the gauge.
  await clock.advanceTo(new Date('2026-11-29T02:30:00Z'), settle);
  await waitFor('the second tick', async () => (await registry.get('tardy@2026-11-29')) !== undefined);
  const second = await registry.get('tardy@2026-11-29');
  await registry.update('tardy@2026-11-29', second?.attempt ?? '', { status: 'succeeded' });
  await clock.advanceTo(new Date('2026-11-29T06:00:00Z'), settle);
  const first = await registry.get('tardy@2026-11-28');
  await registry.update('tardy@2026-11-28', first?.attempt ?? '', { status: 'succeeded' });
  assert.equal(await lateGauge('tardy'), 0, 'the late run succeeded since');
  assert.equal(received.length, 1);
  for (const s of replicas) await s.stop();

  // A replica that starts after a deadline passed unchecked (no scheduler was up) still reports it.
  const c = new FakeClock(Date.parse('2026-11-30T01:00:00Z'));
  const s1 = new Scheduler({ redis, prefix, runs, registry, now: () => c.now() }, c, { onTick: () => undefined, onError: (_j, e) => assert.fail(String(e)) });
  await s1.setJobs([job]);
  await waitFor('the replica asleep', () => c.waiting === 1);
  await c.advanceTo(new Date('2026-11-30T02:00:01Z'), settle);
  await waitFor('the third tick', async () => (await registry.get('tardy@2026-11-30')) !== undefined);
  await s1.stop();
  const c2 = new FakeClock(Date.parse('2026-11-30T09:00:00Z'));
  const s2 = new Scheduler({ redis, prefix, runs, registry, now: () => c2.now() }, c2, { onTick: () => undefined, onError: (_j, e) => assert.fail(String(e)) });
  await s2.setJobs([job]);
  await waitFor('the late webhook after a restart', () => received.length === 2);
  assert.equal(received[1]?.body.runId, 'tardy@2026-11-30');
  await s2.stop();
  assert.equal(await lateGauge('tardy'), 1);
});
