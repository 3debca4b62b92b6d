/**
 * Redis faults, each against a redis-server of its own spawned on a free loopback port: a
 * server that may evict keys (workers refuse it), a server that is down (producers fail fast,
 * with a clear message and no credentials), and a server that crashes and restarts in the
 * middle of a run (with an append-only file, the queue survives and the run completes).
 *
 *   node --import tsx --test test/faults-redis.test.ts
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DATE, fixture, MLP_HEADER, mlpRows, mlpSpec, parseCsv, readOutput, tempDir, toCsv } from './helpers/jobs.js';
import { runCli, startRedisOn as startRedis } from './helpers/redis-process.js';
import { freePort, openQueueHarness, randomPrefix, spawnWorker, waitFor } from './helpers/workers.js';

describe('Redis faults', () => {
  it('a worker exits non-zero, naming maxmemory-policy and noeviction, when Redis may evict keys', { timeout: 30_000 }, async (t) => {
    const redis = await startRedis(await freePort(), ['--appendonly', 'no', '--maxmemory-policy', 'volatile-lru']);
    t.after(() => redis.handle.kill());
    const worker = await spawnWorker({ prefix: randomPrefix(), redisUrl: redis.url, waitReady: false });
    t.after(() => worker.kill());
    const exit = await worker.waitForExit(15_000);
    assert.equal(exit.code, 1, `exit ${JSON.stringify(exit)}\n${worker.output}`);
    assert.match(worker.output, /maxmemory-policy is "volatile-lru"; nightshift needs "noeviction"/);
    assert.doesNotMatch(worker.output, /worker ready|^\s+at /m);
  });

  it('nightshift trigger fails fast when Redis is down: "cannot reach Redis", the password redacted, no stack trace', { timeout: 30_000 }, async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(10)) } });
    const port = await freePort(); // nothing listens there
    const password = 'redis-pw-7f3a9c';
    const r = await runCli(['trigger', fx.job.file, '--date', DATE], { NIGHTSHIFT_REDIS_URL: `redis://:${password}@127.0.0.1:${port}` });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.doesNotMatch(r.output, /^\s+at /m, 'no stack trace');
    assert.ok(!r.output.includes(password), 'the password is not printed');
    assert.ok(r.ms < 5_000, `took ${r.ms} ms to fail`);
  });

  it('Redis killed and restarted mid-run (append-only file): the run completes and its report reconciles', { timeout: 90_000 }, async (t) => {
    const files: Record<string, string> = {};
    const all: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const rows = mlpRows(12_000, { seed: 40 + i, idPrefix: `f${i}-` });
      all.push(...rows);
      files[`part${i}.csv`] = toCsv(MLP_HEADER, rows);
    }
    const spec = mlpSpec();
    spec.limits = { batchRows: 2048, maxErrorRate: 0 };
    const fx = await fixture(t, { files, spec });

    const port = await freePort();
    const aof = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', await tempDir(t, 'redis-aof')];
    let redis = await startRedis(port, aof);
    const h = await openQueueHarness(randomPrefix(), redis.url);
    t.after(async () => {
      // Workers and clients first: they would wait forever for a Redis that is gone.
      await Promise.race([h.close(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await redis.handle.kill();
    });
    const worker = await h.spawnWorker({ NIGHTSHIFT_LOCK_MS: '10000', NIGHTSHIFT_STALLED_MS: '5000' });
    const trig = await h.trigger(fx.job, DATE);

    // Crash Redis once the run is under way: a shard done, others still to score.
    const atKill = await waitFor(
      'a shard done',
      async () => {
        const rec = await h.registry.get(trig.runId, trig.attempt);
        return (rec?.shardsDone ?? 0) >= 1 || rec?.status === 'succeeded' || rec?.status === 'failed' ? rec : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, detail: h.logs },
    );
    await redis.handle.kill();
    assert.ok(
      atKill.status === 'running' && (atKill.shardsDone ?? 0) < (atKill.shards ?? 0),
      `fixture: the run was mid-way when Redis died (${JSON.stringify(atKill)})`,
    );
    redis = await startRedis(port, aof);

    const rec = await h.waitForRun(trig.runId, trig.attempt, { timeoutMs: 60_000 });
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${h.logs()}`);
    assert.ok(worker.running, 'the worker rode out the outage');
    const out = await readOutput(fx.outputDir);
    assert.ok(out.report && out.success, `published: ${out.names.join(', ')}`);
    const { rows } = out.report;
    assert.deepEqual({ read: rows.read, scored: rows.scored, rejected: rows.rejected }, { read: all.length, scored: all.length, rejected: 0 });
    assert.equal(out.success.parts.length, 6);
    const ids: string[] = [];
    for (const part of out.success.parts) ids.push(...parseCsv(await out.text(part)).rows.map((r) => r[0] ?? ''));
    assert.deepEqual(ids.sort(), all.map((r) => r[0] ?? '').sort(), 'every row scored exactly once');
    assert.equal(path.basename(fx.outputDir), DATE);
  });
});
