/**
 * Redis comes and goes under each long-running process: `serve`, `scheduler` and `worker` are
 * started before their private redis-server, wait for it (and say so), and ride out a kill and
 * restart of it without being restarted themselves. Bad settings end a process with one clear
 * line and exit 2.
 *
 *   node --import tsx --test test/redis-restarts.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { RunRegistry } from '../src/queue/run-registry.js';
import { DATE, fixture, MLP_HEADER, mlpRows, mlpSpec, toCsv } from './helpers/jobs.js';
import { runCli, startRedisOn } from './helpers/redis-process.js';
import { freePort, randomPrefix, spawnCli, waitFor, type ChildHandle } from './helpers/workers.js';

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const NO_AOF = ['--appendonly', 'no'];

/** A redis-server on `port` killed when the test ends. */
async function redisOn(t: TestContext, port: number): Promise<{ kill(): Promise<void> }> {
  const r = await startRedisOn(port, NO_AOF);
  t.after(() => r.handle.kill());
  return { kill: async () => void (await r.handle.kill()) };
}

function started(t: TestContext, child: ChildHandle): ChildHandle {
  t.after(() => child.kill());
  return child;
}

async function status(url: string, init: RequestInit = {}): Promise<number> {
  try {
    return (await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return -1;
  }
}

describe('Redis restarts', () => {
  it('serve waits for Redis at start-up, answers 503 while it is down, and recovers without a restart', { timeout: 60_000 }, async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(5)) } });
    const redisPort = await freePort();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const serve = started(
      t,
      spawnCli(['serve', '--port', String(port)], {
        prefix: randomPrefix(),
        redisUrl: `redis://127.0.0.1:${redisPort}`,
        env: { NIGHTSHIFT_API_TOKEN: TOKEN, NIGHTSHIFT_JOBS_DIR: fx.dir },
      }),
    );
    await serve.waitForOutput(/waiting for Redis at redis:\/\/127\.0\.0\.1:\d+/);
    let redis = await redisOn(t, redisPort);
    await serve.waitForOutput(/listening on/);
    assert.equal(await status(`${base}/readyz`), 200);
    assert.equal(await status(`${base}/runs`, { headers: auth }), 200);

    await redis.kill();
    await waitFor('serve to see Redis gone', async () => ((await status(`${base}/readyz`)) === 503 ? true : undefined), {
      timeoutMs: 10_000,
      detail: () => serve.output,
    });
    assert.equal(await status(`${base}/healthz`), 200, 'alive while Redis is down');
    assert.equal(await status(`${base}/runs`, { headers: auth }), 503, 'a request while Redis is down says so');

    redis = await redisOn(t, redisPort);
    await waitFor('serve to answer again', async () => ((await status(`${base}/runs`, { headers: auth })) === 200 ? true : undefined), {
      timeoutMs: 15_000,
      detail: () => serve.output,
    });
    assert.equal(
      await status(`${base}/jobs/${fx.job.spec.name}/runs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ date: DATE }),
      }),
      202,
    );
    assert.equal(await status(`${base}/readyz`), 200);
    assert.ok(serve.running);
    assert.match(serve.output, /Redis connection lost/);
    assert.ok(!serve.output.includes(TOKEN), 'the token is never logged');
    assert.match(serve.output, /"route":"\/jobs\/:param\/runs","status":202/);
  });

  it('the scheduler waits for Redis, survives a restart and fires the next ticks', { timeout: 120_000 }, async (t) => {
    const spec = mlpSpec();
    spec.name = 'ticker';
    spec.schedule = { cron: '*/3 * * * * *', timezone: 'UTC', logicalDate: 'fire-date', catchup: 'none', overlap: 'queue' };
    const fx = await fixture(t, { files: {}, spec });
    const redisPort = await freePort();
    const url = `redis://127.0.0.1:${redisPort}`;
    const prefix = randomPrefix();
    const scheduler = started(t, spawnCli(['scheduler'], { prefix, redisUrl: url, env: { NIGHTSHIFT_JOBS_DIR: fx.dir } }));
    await scheduler.waitForOutput(/waiting for Redis/);
    let redis = await redisOn(t, redisPort);
    const ticks = async (): Promise<number> => {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.keys(`${prefix}:sched:tick:ticker:*`)).length;
      } catch {
        return 0;
      } finally {
        c.disconnect();
      }
    };
    await waitFor('a tick before the restart', async () => ((await ticks()) >= 1 ? true : undefined), { timeoutMs: 40_000, detail: () => scheduler.output });
    await redis.kill();
    await scheduler.waitForOutput(/Redis connection lost/, 10_000);
    redis = await redisOn(t, redisPort); // empty: no persistence
    await waitFor('ticks after the restart', async () => ((await ticks()) >= 2 ? true : undefined), { timeoutMs: 40_000, detail: () => scheduler.output });
    const c = new Redis(url);
    t.after(() => c.disconnect());
    const runs = await new RunRegistry(c, prefix).list(10, 'ticker');
    assert.equal(runs.length, 1, 'the restarted Redis got the run again from a tick');
    assert.ok(scheduler.running);
    assert.match(scheduler.output, /"decision":"fired"/);
    scheduler.signal('SIGTERM');
    assert.equal((await scheduler.waitForExit(30_000)).code, 0);
  });

  it('a worker waits for Redis at start-up and stops cleanly on SIGTERM while waiting', { timeout: 60_000 }, async (t) => {
    const redisPort = await freePort();
    const worker = started(t, spawnCli(['worker'], { prefix: randomPrefix(), redisUrl: `redis://127.0.0.1:${redisPort}` }));
    await worker.waitForOutput(/waiting for Redis/, 30_000);
    await redisOn(t, redisPort);
    await worker.waitForOutput(/worker ready/, 30_000);
    const idle = started(t, spawnCli(['worker'], { prefix: randomPrefix(), redisUrl: `redis://127.0.0.1:${await freePort()}` }));
    await idle.waitForOutput(/waiting for Redis/, 30_000);
    idle.signal('SIGTERM');
    assert.equal((await idle.waitForExit(10_000)).code, 0, idle.output);
  });

  describe('bad settings: one clear line, exit 2', () => {
    const oneLine = (output: string): string[] =>
      output
        .trim()
        .split('\n')
        .filter((l) => l.trim() !== '');

    it('a malformed Redis URL', { timeout: 60_000 }, async () => {
      for (const cmd of [['worker'], ['serve']]) {
        const r = await runCli(cmd, { NIGHTSHIFT_REDIS_URL: 'redis://:pw@127.0.0.1:notaport', NIGHTSHIFT_API_TOKEN: TOKEN }, 30_000);
        assert.equal(r.code, 2, `${cmd[0]}: ${r.output}`);
        assert.deepEqual(oneLine(r.output).length, 1, r.output);
        assert.match(r.output, /NIGHTSHIFT_REDIS_URL is not a valid URL: redis:\/\/:\*\*\*@127\.0\.0\.1:notaport/);
        assert.ok(!r.output.includes(':pw@'));
      }
    });

    it('Redis requires a password that is not given (or is wrong)', { timeout: 60_000 }, async (t) => {
      const port = await freePort();
      const r = await startRedisOn(port, NO_AOF, 'sekret-pw-123');
      t.after(() => r.handle.kill());
      for (const [cmd, url] of [
        [['worker'], r.url],
        [['scheduler'], `redis://:wrong-pw@127.0.0.1:${port}`],
        [['runs'], r.url],
      ] as const) {
        const out = await runCli(cmd, { NIGHTSHIFT_REDIS_URL: url, NIGHTSHIFT_API_TOKEN: TOKEN }, 30_000);
        assert.equal(out.code, 2, `${cmd[0]}: ${out.output}`);
        assert.match(out.output, /refused the credentials: (NOAUTH|WRONGPASS)/);
        assert.equal(oneLine(out.output).length, 1, out.output);
        assert.ok(!out.output.includes('wrong-pw'));
      }
    });
  });
});
