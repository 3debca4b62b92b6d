/**
 * The scheduler for real: two `nightshift scheduler` processes and a worker process on one Redis,
 * a cron that fires every 2 seconds, and a backfill through the CLI.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ChildHandle, queueHarness, REDIS_URL, REPO_ROOT, waitFor } from './helpers/workers.js';
import { fixture, mlpRows, MLP_HEADER, mlpSpec, toCsv, writeIn } from './helpers/jobs.js';
import { dateInZone } from '../src/run/run-identity.js';

function spawnCli(args: string[], env: Record<string, string>): ChildHandle {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete e.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ChildHandle(`nightshift ${args[0] ?? ''}`, child);
}

it('two scheduler replicas: every tick fires once, and the run completes on a real worker', async (t) => {
  const today = dateInZone(new Date(), 'UTC');
  const spec = mlpSpec();
  spec.name = 'ticker';
  spec.schedule = { cron: '*/2 * * * * *', timezone: 'UTC', logicalDate: 'fire-date', catchup: 'none', overlap: 'queue' };
  spec.input.uri = 'in/{{date}}/';
  const fx = await fixture(t, { files: {}, spec });
  await writeIn(path.join(fx.dir, 'in', today), 'a.csv', toCsv(MLP_HEADER, mlpRows(500)));
  const h = await queueHarness(t);
  const env = { NIGHTSHIFT_REDIS_URL: REDIS_URL, NIGHTSHIFT_REDIS_PREFIX: h.prefix, NIGHTSHIFT_JOBS_DIR: fx.dir };
  await h.spawnWorker();
  const schedulers = [spawnCli(['scheduler'], env), spawnCli(['scheduler'], env)];
  t.after(async () => {
    await Promise.all(schedulers.map((s) => s.kill()));
  });
  const runId = `ticker@${today}`;
  const rec = await waitFor(
    'the scheduled run to succeed',
    async () => {
      const r = await h.registry.get(runId);
      return r?.status === 'succeeded' ? r : undefined;
    },
    { timeoutMs: 40_000, detail: () => schedulers.map((s) => s.output).join('\n') + h.logs() },
  );
  assert.equal(rec.trigger, 'schedule');
  // Let a few more ticks fire on both replicas, then stop them.
  await waitFor('three ticks claimed', async () => ((await h.redis.keys(`${h.prefix}:sched:tick:ticker:*`)).length >= 3 ? true : undefined), {
    timeoutMs: 60_000,
  });
  for (const s of schedulers) s.signal('SIGTERM');
  const exits = await Promise.all(schedulers.map((s) => s.exited));
  assert.deepEqual(
    exits.map((e) => e.code),
    [0, 0],
    'schedulers stop cleanly on SIGTERM',
  );

  const logs = schedulers.map((s) => s.output).join('\n');
  const ticks = [...logs.matchAll(/schedule tick (\S+ \S+) \(UTC\) → (.*)/g)].map((m) => ({ tick: m[1] ?? '', outcome: m[2] ?? '' }));
  const byTick = new Map<string, string[]>();
  for (const { tick, outcome } of ticks) byTick.set(tick, [...(byTick.get(tick) ?? []), outcome]);
  assert.ok(byTick.size >= 3, `several ticks seen:\n${logs}`);
  for (const [tick, outcomes] of byTick) {
    const fired = outcomes.filter((o) => !o.includes('another scheduler replica'));
    assert.equal(fired.length, 1, `tick ${tick} fired by exactly one replica: ${JSON.stringify(outcomes)}`);
  }
  assert.equal(ticks.filter((x) => x.outcome.startsWith('queued')).length, 1, 'one run enqueued for the date; later ticks are no-ops');
  const runs = await h.registry.list(50, 'ticker');
  assert.deepEqual(
    runs.map((r) => r.runId),
    [runId],
    'one run, one attempt',
  );
});

it('backfill enqueues one run per date and they run one after another', async (t) => {
  const spec = mlpSpec();
  spec.name = 'backfilly';
  const fx = await fixture(t, { files: {}, spec });
  const dates = ['2026-11-20', '2026-11-21', '2026-11-22'];
  for (const d of dates) await writeIn(path.join(fx.dir, 'in', d), 'a.csv', toCsv(MLP_HEADER, mlpRows(3000, { seed: Number(d.slice(-2)) })));
  const h = await queueHarness(t);
  await h.spawnWorker({ NIGHTSHIFT_CONCURRENCY: '2' });
  const cli = spawnCli(['backfill', path.join(fx.dir, 'job.yaml'), '--from', dates[0] ?? '', '--to', dates[2] ?? ''], {
    NIGHTSHIFT_REDIS_URL: REDIS_URL,
    NIGHTSHIFT_REDIS_PREFIX: h.prefix,
  });
  assert.equal((await cli.exited).code, 0, cli.output);
  assert.equal((cli.output.match(/^queued backfilly@/gm) ?? []).length, 3, cli.output);
  const recs = [];
  for (const d of dates) {
    const r = await h.registry.get(`backfilly@${d}`);
    assert.ok(r, `run for ${d} recorded`);
    recs.push(await h.waitForRun(r.runId, r.attempt));
  }
  assert.deepEqual(
    recs.map((r) => r.status),
    ['succeeded', 'succeeded', 'succeeded'],
  );
  // Serial: each run starts planning only after the previous one has finished.
  for (let i = 1; i < recs.length; i++) {
    const prev = recs[i - 1];
    const cur = recs[i];
    assert.ok(prev?.finishedAt && cur?.startedAt && Date.parse(cur.startedAt) >= Date.parse(prev.finishedAt), `run ${i} started after run ${i - 1} finished`);
  }
  // A second backfill of the same range is a no-op.
  const again = spawnCli(['backfill', path.join(fx.dir, 'job.yaml'), '--from', dates[0] ?? '', '--to', dates[2] ?? ''], {
    NIGHTSHIFT_REDIS_URL: REDIS_URL,
    NIGHTSHIFT_REDIS_PREFIX: h.prefix,
  });
  assert.equal((await again.exited).code, 0);
  assert.equal((again.output.match(/already exists \(attempt a1-[0-9a-f]+, succeeded\)/g) ?? []).length, 3, again.output);
});
