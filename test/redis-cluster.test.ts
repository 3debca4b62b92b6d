/**
 * nightshift on a real Redis Cluster: three private redis-server processes in cluster mode on
 * 7xxx ports, joined with `redis-cli --cluster create`. Verified here:
 * - every key nightshift and BullMQ use, under a prefix with a {hash tag}, is in one slot
 *   (CLUSTER KEYSLOT), and without the tag they are not (a multi-key step would fail CROSSSLOT);
 * - the settings fail fast (exit 2, one line) for a prefix without a hash tag, and for a cluster
 *   node reached without NIGHTSHIFT_REDIS_CLUSTER=true;
 * - a distributed run through the cluster: two `nightshift worker` processes, `trigger --wait`,
 *   a rerun, `runs`, and a cancel (the scripts: claim, turn, update, cancel; BullMQ flows across
 *   the runs and shards queues; the retention sweep at worker start-up);
 * - a scheduled tick through the cluster (the scheduler fires an every-minute job).
 *
 *   node --import tsx --test test/redis-cluster.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { finalizeJobId, planJobId, shardJobId } from '../src/queue/names.js';
import { hashTag } from '../src/queue/redis-config.js';
import { DATE, fixture, MLP_HEADER, mlpRows, mlpSpec, toCsv } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';
import { randomPrefix, spawnCli, startRedisOn, waitFor, type ChildHandle, type RedisProcess } from './helpers/workers.js';

const nodes: RedisProcess[] = [];
let dir: string;
let seed: string;
let cluster: Cluster;

/** A port in 7000–7899 free for the node and for its cluster bus (port + 10000). */
async function free7xxxPort(taken: Set<number>): Promise<number> {
  const isFree = (p: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const p = 7000 + Math.floor(Math.random() * 900);
    if (!taken.has(p) && (await isFree(p)) && (await isFree(p + 10_000))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free 7xxx port');
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-cluster-'));
  const taken = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const port = await free7xxxPort(taken);
    nodes.push(
      await startRedisOn(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ]),
    );
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.url.replace('redis://', '')), '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(create.status, 0, `${create.stdout}\n${create.stderr}`);
  for (const n of nodes) {
    await waitFor(
      `${n.url} to see the cluster ok`,
      async () => {
        const r = new Redis(n.url, { lazyConnect: true });
        try {
          return /cluster_state:ok/.test(await r.cluster('INFO')) ? true : undefined;
        } finally {
          r.disconnect();
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }
  seed = nodes[0]?.url ?? '';
  const u = new URL(seed);
  cluster = new Cluster([{ host: u.hostname, port: Number(u.port) }]);
});

after(async () => {
  cluster?.disconnect();
  await Promise.all(nodes.map((n) => n.handle.kill()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Redis Cluster (3 masters on loopback)', { timeout: 400_000 }, () => {
  it("every key of a run and of its BullMQ jobs is in the slot of the prefix's {hash tag}; without a tag they spread", async () => {
    const runId = 'fraud@2026-11-28';
    const attempt = 'a1-0f0f';
    const keysOf = (prefix: string): string[] => [
      // RunRegistry / RunTurns (queue/run-registry.ts, queue/run-turns.ts)
      `${prefix}:run:${runId}#${attempt}`,
      `${prefix}:runs`,
      `${prefix}:attempts:${runId}`,
      `${prefix}:latest:${runId}`,
      `${prefix}:turn:${runId}`,
      // BullMQ: queue keys and job keys of both queues (a flow's parent and children)
      `${prefix}:runs:wait`,
      `${prefix}:runs:meta`,
      `${prefix}:runs:events`,
      `${prefix}:runs:waiting-children`,
      `${prefix}:runs:${planJobId(runId, attempt)}`,
      `${prefix}:runs:${finalizeJobId(runId, attempt)}:dependencies`,
      `${prefix}:shards:wait`,
      `${prefix}:shards:${shardJobId(runId, attempt, '00000')}`,
      `${prefix}:shards:${shardJobId(runId, attempt, '00007')}:lock`,
    ];
    const slot = async (key: string): Promise<number> => Number(await cluster.cluster('KEYSLOT', key));
    const tagged = '{nightshift}';
    assert.equal(hashTag(tagged), 'nightshift');
    const expected = await slot('nightshift');
    for (const k of keysOf(tagged)) assert.equal(await slot(k), expected, k);
    const spread = new Set(await Promise.all(keysOf('nightshift').map(slot)));
    assert.ok(spread.size > 1, 'without a hash tag the keys land in several slots');
    // What that means for a multi-key step, here the turn script's shape:
    await assert.rejects(cluster.eval("return redis.call('GET', KEYS[1])", 2, 'nightshift:turn:x', 'nightshift:latest:x'), /CROSSSLOT|MOVED/);
    assert.equal(await cluster.eval("return redis.call('GET', KEYS[1])", 2, '{nightshift}:turn:x', '{nightshift}:latest:x'), null);
  });

  it('settings fail fast: a prefix without a hash tag, and a cluster node reached as a single Redis', async () => {
    const noTag = await runCli(['runs'], { NIGHTSHIFT_REDIS_URL: seed, NIGHTSHIFT_REDIS_CLUSTER: 'true', NIGHTSHIFT_REDIS_PREFIX: 'nightshift' });
    assert.equal(noTag.code, 2, noTag.output);
    assert.match(noTag.output, /NIGHTSHIFT_REDIS_PREFIX "nightshift" has no \{hash tag\}.*"\{nightshift\}"/);
    const single = await runCli(['runs'], { NIGHTSHIFT_REDIS_URL: seed, NIGHTSHIFT_REDIS_PREFIX: '{nightshift}' });
    assert.equal(single.code, 2, single.output);
    assert.match(single.output, /is a Redis Cluster node: set NIGHTSHIFT_REDIS_CLUSTER=true/);
  });

  it('a distributed run through the cluster: two workers, trigger --wait, a rerun, runs, and a cancel', async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(3_000)), 'b.csv': toCsv(MLP_HEADER, mlpRows(2_000, { idPrefix: 'b-' })) } });
    const prefix = `{${randomPrefix('nsc')}}`;
    const env = {
      NIGHTSHIFT_REDIS_URL: seed,
      NIGHTSHIFT_REDIS_CLUSTER: 'true',
      NIGHTSHIFT_REDIS_PREFIX: prefix,
      NIGHTSHIFT_LOCK_MS: '5000',
      NIGHTSHIFT_STALLED_MS: '2000',
    };
    const workers: ChildHandle[] = [0, 1].map(() => spawnCli(['worker'], { prefix, redisUrl: seed, env }));
    t.after(async () => {
      await Promise.all(workers.map((w) => w.kill()));
    });
    await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/, 120_000)));
    const logs = (): string => workers.map((w) => w.output).join('\n');

    const first = await runCli(['trigger', fx.job.file, '--date', DATE, '--wait'], env, 180_000);
    assert.equal(first.code, 0, `${first.output}\n${logs()}`);
    assert.match(first.output, /a1-[0-9a-f]{4} succeeded/);
    const manifest = JSON.parse(await readFile(path.join(fx.outputDir, '_SUCCESS'), 'utf8')) as { rows: number; attempt: string };
    assert.equal(manifest.rows, 5_000);

    const rerun = await runCli(['trigger', fx.job.file, '--date', DATE, '--rerun', '--wait'], env, 180_000);
    assert.equal(rerun.code, 0, `${rerun.output}\n${logs()}`);
    const republished = JSON.parse(await readFile(path.join(fx.outputDir, '_SUCCESS'), 'utf8')) as { rows: number; attempt: string };
    assert.match(republished.attempt, /^a2-/);
    assert.equal(republished.rows, 5_000);

    const runs = await runCli(['runs'], env);
    assert.equal(runs.code, 0, runs.output);
    assert.match(runs.output, /succeeded/);

    // A cancel through the cluster: a queued attempt (workers paused by nothing: cancel at once).
    const queued = await runCli(['trigger', fx.job.file, '--date', '2026-11-27'], env);
    assert.equal(queued.code, 0, queued.output);
    const cancel = await runCli(['cancel', fx.job.file, '--date', '2026-11-27', '--by', 'ops'], env);
    // Either it was still queued/planning/running (cancelled) or it had already finished (409 → 2).
    assert.ok(cancel.code === 0 || /already ended/.test(cancel.output), cancel.output);
    assert.doesNotMatch(logs(), /CROSSSLOT|MOVED|retention sweep failed/);
  });

  it('a scheduled tick through the cluster: the scheduler fires a every-minute job and the run is recorded', { timeout: 200_000 }, async (t) => {
    const spec = { ...mlpSpec(), name: 'cluster-tick', schedule: { cron: '* * * * *', timezone: 'UTC', logicalDate: 'fire-date' as const } };
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(10)) }, spec });
    const prefix = `{${randomPrefix('nsc')}}`;
    const env = { NIGHTSHIFT_REDIS_URL: seed, NIGHTSHIFT_REDIS_CLUSTER: 'true', NIGHTSHIFT_REDIS_PREFIX: prefix, NIGHTSHIFT_JOBS_DIR: fx.dir };
    const scheduler = spawnCli(['scheduler'], { prefix, redisUrl: seed, env });
    t.after(() => scheduler.kill().then(() => undefined));
    // The next minute boundary, plus start-up on a busy machine.
    await scheduler.waitForOutput(/"decision":"fired"/, 150_000);
    const runId = /"runId":"(cluster-tick@\d{4}-\d{2}-\d{2})"/.exec(scheduler.output)?.[1];
    assert.ok(runId, scheduler.output);
    const shown = await runCli(['run', runId], env);
    assert.equal(shown.code, 0, shown.output);
    assert.match(shown.output, new RegExp(`${runId} a1-[0-9a-f]{4} queued`));
    assert.doesNotMatch(scheduler.output, /CROSSSLOT|MOVED|scheduler step failed/);
  });
});
