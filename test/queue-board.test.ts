/**
 * Bull Board under /admin/queues on `nightshift serve`: behind the API token (bearer, or HTTP
 * Basic for a browser), its page and static files served, its API listing nightshift's queues
 * and their jobs, read-only by default, no way out of the UI's static folder.
 *
 *   node --import tsx --test test/queue-board.test.ts
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createApiServer } from '../src/http/server.js';
import { BOARD_PATH, createQueueBoard, type QueueBoard } from '../src/http/queue-board.js';
import type { QueueClient } from '../src/queue/queue-client.js';
import { RunRegistry } from '../src/queue/run-registry.js';
import { deleteKeys, freePort, randomPrefix, REDIS_URL, spawnCli } from './helpers/workers.js';

const TOKEN = 'board-test-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };

let redis: Redis;
let prefix: string;
let board: QueueBoard;
let server: Server;
let base: string;
let runs: Queue;

before(async () => {
  prefix = randomPrefix('board');
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  runs = new Queue('runs', { connection: redis, prefix });
  await runs.add('plan', { kind: 'plan', runId: 'fraud@2026-11-28' }, { jobId: 'fraud@2026-11-28#a1-0000' });
  board = await createQueueBoard(redis, prefix, { readOnly: true });
  const client = { runs, registry: new RunRegistry(redis, prefix), redis, prefix, close: async () => undefined } as QueueClient;
  server = createApiServer({ token: TOKEN, client, board, jobs: async () => new Map() });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server?.close(r));
  await board?.close();
  await runs?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe('Bull Board at /admin/queues', () => {
  it('needs the token: 401 with a Basic challenge (a browser asks), then the page with its base path', async () => {
    const anon = await fetch(`${base}${BOARD_PATH}/`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm="nightshift"/);
    const wrong = await fetch(`${base}${BOARD_PATH}/`, { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } });
    assert.equal(wrong.status, 401);
    // Basic is for the board only: the API keeps bearer tokens.
    assert.equal((await fetch(`${base}/runs`, { headers: basic })).status, 401);

    const bare = await fetch(`${base}${BOARD_PATH}`, { headers: basic, redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), `${BOARD_PATH}/`);
    for (const headers of [basic, bearer]) {
      const page = await fetch(`${base}${BOARD_PATH}/`, { headers });
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<base href="\/admin\/queues\/"/);
      assert.match(html, /nightshift queues/);
      assert.doesNotMatch(html, /<%/, 'every template tag filled');
      // A UI route (the board routes itself in the browser) is the same page.
      assert.equal((await fetch(`${base}${BOARD_PATH}/queue/runs`, { headers })).status, 200);
      const script = /<script defer src="(static\/js\/main\.[^"]+)"/.exec(html)?.[1];
      assert.ok(script, 'the page loads the UI bundle');
      const js = await fetch(`${base}${BOARD_PATH}/${script}`, { headers });
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
    }
  });

  it('its API lists the runs and shards queues and the queued plan job', async () => {
    const res = await fetch(`${base}${BOARD_PATH}/api/queues?activeQueue=runs&status=latest&page=1&jobsPerPage=10`, { headers: basic });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: { id: string }[] }[] };
    assert.deepEqual(body.queues.map((q) => q.name).sort(), ['runs', 'shards']);
    const q = body.queues.find((x) => x.name === 'runs');
    assert.equal(q?.counts.waiting, 1);
    assert.deepEqual(
      q?.jobs.map((j) => j.id),
      ['fraud@2026-11-28#a1-0000'],
    );
    assert.equal(q?.readOnlyMode, true);
    const job = await fetch(`${base}${BOARD_PATH}/api/queues/runs/${encodeURIComponent('fraud@2026-11-28#a1-0000')}`, { headers: bearer });
    assert.equal(job.status, 200, await job.clone().text());
  });

  it('read-only by default; no way out of the static folder; unknown routes 404', async () => {
    const pause = await fetch(`${base}${BOARD_PATH}/api/queues/runs/pause`, { method: 'PUT', headers: bearer });
    assert.equal(pause.status, 405);
    assert.equal(await runs.isPaused(), false);
    for (const p of ['static/..%2F..%2Fpackage.json', 'static/%2e%2e/%2e%2e/package.json', 'static/..%2F..%2F..%2Fapi%2Fpackage.json']) {
      assert.equal((await fetch(`${base}${BOARD_PATH}/${p}`, { headers: bearer })).status, 404, p);
    }
    assert.equal((await fetch(`${base}${BOARD_PATH}/api/nothing`, { headers: bearer })).status, 404);
  });

  it('nightshift serve mounts it', { timeout: 120_000 }, async (t) => {
    const port = await freePort();
    const p = randomPrefix('board-serve');
    const serve = spawnCli(['serve', '--port', String(port)], { prefix: p, env: { NIGHTSHIFT_API_TOKEN: TOKEN } });
    t.after(async () => {
      await serve.kill();
      await deleteKeys(redis, p);
    });
    await serve.waitForOutput(/listening on/, 90_000);
    const res = await fetch(`http://127.0.0.1:${port}${BOARD_PATH}/api/queues`, { headers: bearer });
    assert.equal(res.status, 200, serve.output);
    const body = (await res.json()) as { queues: { name: string }[] };
    assert.deepEqual(body.queues.map((q) => q.name).sort(), ['runs', 'shards']);
    assert.equal((await fetch(`http://127.0.0.1:${port}${BOARD_PATH}/`)).status, 401);
  });
});
