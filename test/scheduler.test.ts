import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ticksBetween, nextTicks } from '../src/scheduler/cron-ticks.js';
import { missedTicks } from '../src/scheduler/catch-up.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { JobSource } from '../src/scheduler/job-source.js';
import type { TickOutcome } from '../src/scheduler/fire-tick.js';
import { RunRegistry } from '../src/queue/run-registry.js';
import { planJobId, RUNS_QUEUE } from '../src/queue/names.js';
import { planPayloadSchema } from '../src/queue/payloads.js';
import { loadJobFile, type LoadedJob } from '../src/spec/load-spec.js';
import { FakeClock } from './helpers/fake-clock.js';

const iso = (ts: { at: Date }[]): string[] => ts.map((t) => t.at.toISOString());

describe('cron ticks across DST (Europe/Berlin, 02:30 daily)', () => {
  it('fires once on the spring-forward day, at 03:30 CEST', () => {
    const ticks = ticksBetween('30 2 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00Z'), new Date('2026-03-30T12:00Z'));
    assert.deepEqual(iso(ticks), ['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    assert.equal(ticks[0]?.localDate, '2026-03-29');
  });

  it('fires once, not twice, on the fall-back day (first occurrence)', () => {
    const ticks = ticksBetween('30 2 * * *', 'Europe/Berlin', new Date('2026-10-24T12:00Z'), new Date('2026-10-26T12:00Z'));
    assert.deepEqual(iso(ticks), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('keeps one tick per local day over a whole year', () => {
    const ticks = ticksBetween('30 2 * * *', 'Europe/Berlin', new Date('2026-01-01T00:00Z'), new Date('2027-01-01T00:00Z'));
    assert.equal(ticks.length, 365);
    assert.equal(new Set(ticks.map((t) => t.localDate)).size, 365);
  });

  it('handles seconds fields, weekdays and other zones', () => {
    assert.equal(ticksBetween('*/5 * * * * *', 'UTC', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:01:00Z')).length, 12);
    const mondays = nextTicks('0 9 * * 1', 'America/New_York', new Date('2026-11-01T00:00Z'), 2);
    assert.deepEqual(iso(mondays), ['2026-11-02T14:00:00.000Z', '2026-11-09T14:00:00.000Z']);
  });
});

describe('catch-up policy', () => {
  const base = { cron: '0 2 * * *', timezone: 'UTC', logicalDate: 'previous-day', catchupWindow: '3d', overlap: 'skip' } as const;
  const now = new Date('2026-11-29T12:00:00Z');
  const last = new Date('2026-11-25T02:00:00Z');
  it('none fires nothing, latest the newest, all every tick within the window', () => {
    assert.deepEqual(missedTicks({ ...base, catchup: 'none' }, last, now), []);
    assert.deepEqual(iso(missedTicks({ ...base, catchup: 'latest' }, last, now)), ['2026-11-29T02:00:00.000Z']);
    // The window (3 days) cuts off the 26th's tick before 12:00.
    assert.deepEqual(iso(missedTicks({ ...base, catchup: 'all' }, last, now)), [
      '2026-11-27T02:00:00.000Z',
      '2026-11-28T02:00:00.000Z',
      '2026-11-29T02:00:00.000Z',
    ]);
    assert.deepEqual(missedTicks({ ...base, catchup: 'all' }, undefined, now), [], 'first start: nothing to catch up');
  });
});

describe('scheduler against real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let runs: Queue;
  let registry: RunRegistry;
  let dir: string;

  const writeJob = async (name: string, schedule: Record<string, string>): Promise<LoadedJob> => {
    const file = path.join(dir, `${name}.yaml`);
    const sched = Object.entries(schedule)
      .map(([k, v]) => `  ${k}: "${v}"`)
      .join('\n');
    await writeFile(
      file,
      `name: ${name}\nschedule:\n${sched}\nmodel: { uri: m.onnx, inputs: [{ name: x, columns: [a] }], outputs: [{ name: y, columns: [b] }] }\ninput: { uri: "in/{{date}}/" }\noutput: { uri: "out/{{date}}/" }\n`,
    );
    return loadJobFile(file);
  };

  before(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  });
  beforeEach(async () => {
    prefix = `test-sched-${randomBytes(4).toString('hex')}`;
    runs = new Queue(RUNS_QUEUE, { connection: redis, prefix });
    registry = new RunRegistry(redis, prefix);
    dir = await mkdtemp(path.join(tmpdir(), 'ns-sched-'));
  });
  after(async () => {
    const keys = await redis.keys('test-sched-*');
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const settle = async (): Promise<void> => {
    for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
    await redis.ping();
    for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
  };

  const start = (clock: FakeClock, outcomes: TickOutcome[]): Scheduler =>
    new Scheduler({ redis, prefix, runs, registry, now: () => clock.now() }, clock, {
      onTick: (_j, _t, o) => outcomes.push(o),
      onError: (_j, e) => assert.fail(String(e)),
    });

  const waitFor = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 400 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(await cond(), 'condition not reached');
  };

  it('two replicas fire each tick once; the run is for the previous day', async () => {
    const job = await writeJob('nightly', { cron: '30 2 * * *', timezone: 'Europe/Berlin', catchup: 'none', overlap: 'queue' });
    const clock = new FakeClock(Date.parse('2026-10-23T12:00:00Z'));
    const outcomes: TickOutcome[] = [];
    const a = start(clock, outcomes);
    const b = start(clock, outcomes);
    await a.setJobs([job]);
    await b.setJobs([job]);
    await waitFor(() => clock.waiting === 2);
    await clock.advanceTo(new Date('2026-10-27T00:00:00Z'), settle);
    await waitFor(() => outcomes.length === 6);
    await a.stop();
    await b.stop();
    const fired = outcomes.filter((o) => o.kind === 'fired');
    assert.equal(fired.length, 3, 'one fire per tick across both replicas (including the fall-back day)');
    assert.equal(outcomes.filter((o) => o.kind === 'claimed-elsewhere').length, 3);
    assert.deepEqual(fired.map((o) => o.runId).sort(), ['nightly@2026-10-23', 'nightly@2026-10-24', 'nightly@2026-10-25']);
    assert.equal(await runs.count(), 3);
  });

  it('catches up missed ticks on start per policy (all)', async () => {
    const job = await writeJob('catchy', { cron: '0 2 * * *', timezone: 'UTC', catchup: 'all', catchupWindow: '7d', logicalDate: 'fire-date' });
    await redis.set(`${prefix}:sched:last:catchy`, '2026-11-26T02:00:00.000Z');
    const clock = new FakeClock(Date.parse('2026-11-29T12:00:00Z'));
    const outcomes: TickOutcome[] = [];
    const s = start(clock, outcomes);
    await s.setJobs([job]);
    await waitFor(() => outcomes.length === 3);
    await s.stop();
    assert.deepEqual(
      outcomes.map((o) => o.runId),
      ['catchy@2026-11-27', 'catchy@2026-11-28', 'catchy@2026-11-29'],
    );
    assert.equal(await redis.get(`${prefix}:sched:last:catchy`), '2026-11-29T02:00:00.000Z');
  });

  it('overlap skip records a skipped run; overlap queue enqueues a serial run', async () => {
    const skip = await writeJob('skippy', { cron: '0 * * * *', timezone: 'UTC', catchup: 'none', overlap: 'skip', logicalDate: 'fire-date' });
    const queue = await writeJob('queuey', { cron: '0 * * * *', timezone: 'UTC', catchup: 'none', overlap: 'queue', logicalDate: 'fire-date' });
    for (const job of ['skippy', 'queuey']) {
      await registry.create({
        runId: `${job}@2026-11-28`,
        attempt: 'a1',
        job,
        logicalDate: '2026-11-28',
        status: 'running',
        triggeredAt: '2026-11-28T00:00:00Z',
        trigger: 'manual',
      });
    }
    const clock = new FakeClock(Date.parse('2026-11-29T00:30:00Z'));
    const outcomes: TickOutcome[] = [];
    const s = start(clock, outcomes);
    await s.setJobs([skip, queue]);
    await waitFor(() => clock.waiting === 2);
    await clock.advanceTo(new Date('2026-11-29T01:00:00Z'), settle);
    await waitFor(() => outcomes.length === 2);
    await s.stop();
    const bySkip = outcomes.find((o) => o.runId.startsWith('skippy'));
    assert.equal(bySkip?.kind, 'skipped');
    const skipped = await registry.get('skippy@2026-11-29', 'skipped');
    assert.equal(skipped?.status, 'skipped');
    assert.match(skipped?.reason ?? '', /skippy@2026-11-28/);
    assert.equal(
      (await registry.list(10, 'skippy')).some((r) => r.status === 'skipped'),
      true,
      'visible in runs',
    );
    const queued = outcomes.find((o) => o.runId.startsWith('queuey'));
    assert.equal(queued?.kind, 'fired');
    const plan = await runs.getJob(planJobId('queuey@2026-11-29', queued?.kind === 'fired' ? queued.attempt : ''));
    assert.ok(plan, 'queued despite the active run');
    assert.equal(planPayloadSchema.parse(plan.data).serial, true, 'planned behind the active run');
  });

  it('reload keeps the last good version of a job whose file breaks', async () => {
    await writeJob('reloady', { cron: '0 2 * * *', timezone: 'UTC' });
    const errors: string[] = [];
    const source = new JobSource(dir, (e) => errors.push(e.message));
    const first = await source.load();
    assert.equal(first[0]?.spec.schedule?.cron, '0 2 * * *');
    await writeJob('reloady', { cron: '0 3 * * *', timezone: 'UTC' });
    assert.equal((await source.load())[0]?.spec.schedule?.cron, '0 3 * * *', 'a valid change is picked up');
    await assert.rejects(writeJob('reloady', { cron: '99 99 * * *', timezone: 'Mars/Olympus' }), /schedule\.cron/);
    const kept = await source.load();
    assert.equal(kept[0]?.spec.schedule?.cron, '0 3 * * *', 'the last good version keeps running');
    assert.match(errors.join('\n'), /schedule\.cron/);
    assert.match(errors.join('\n'), /Mars\/Olympus/);
  });
});
