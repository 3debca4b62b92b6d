import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { openQueueClient, type QueueClient } from '../src/queue/queue-client.js';
import { createApiServer, MAX_BODY_BYTES } from '../src/http/server.js';
import { MAX_LOGICAL_DATE, MIN_LOGICAL_DATE } from '../src/run/run-identity.js';
import { loadJobFile, type LoadedJob } from '../src/spec/load-spec.js';
import { planJobId } from '../src/queue/names.js';

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;

describe('HTTP trigger', () => {
  let client: QueueClient;
  let server: Server;
  let base: string;
  let job: LoadedJob;

  before(async () => {
    process.env.NIGHTSHIFT_REDIS_PREFIX = `test-http-${randomBytes(4).toString('hex')}`;
    const dir = await mkdtemp(path.join(tmpdir(), 'ns-http-'));
    const file = path.join(dir, 'fraud.yaml');
    await writeFile(
      file,
      [
        'name: fraud',
        'model: { uri: model.onnx, inputs: [{ name: features, columns: [f0] }], outputs: [{ name: score, columns: [s] }] }',
        'input: { uri: "in/{{date}}/" }',
        'output: { uri: "out/{{date}}/" }',
      ].join('\n'),
    );
    job = await loadJobFile(file);
    client = await openQueueClient();
    server = createApiServer({ token: TOKEN, client, jobs: async () => new Map([[job.spec.name, job]]) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    const keys = await client.redis.keys(`${process.env.NIGHTSHIFT_REDIS_PREFIX}:*`);
    if (keys.length > 0) await client.redis.del(...keys);
    await client.close();
  });

  const post = (p: string, body: string, auth = `Bearer ${TOKEN}`): Promise<Response> =>
    fetch(base + p, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(auth !== '' ? { authorization: auth } : {}) } });

  it('refuses requests without the right token', async () => {
    assert.equal((await post('/jobs/fraud/runs', '{}', '')).status, 401);
    assert.equal((await post('/jobs/fraud/runs', '{}', `Bearer ${TOKEN}x`)).status, 401);
    assert.equal((await post('/jobs/fraud/runs', '{}', TOKEN)).status, 401);
    assert.equal((await fetch(`${base}/runs`)).status, 401);
    assert.equal(await client.runs.count(), 0, 'nothing was enqueued');
  });

  it('rejects bad bodies with 400 and says why', async () => {
    const bad = await post('/jobs/fraud/runs', '{"date":"2026-02-30"}');
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /date/);
    assert.equal((await post('/jobs/fraud/runs', '{"date":"2026-11-28","extra":1}')).status, 400);
    assert.equal((await post('/jobs/fraud/runs', '{not json')).status, 400);
    assert.equal((await post('/jobs/fraud/runs', '{"rerun":"yes"}')).status, 400);
  });

  it('refuses oversized bodies with 413', async () => {
    const res = await post('/jobs/fraud/runs', JSON.stringify({ date: '2026-11-28', pad: 'x'.repeat(MAX_BODY_BYTES) }));
    assert.equal(res.status, 413);
  });

  it('answers 404 for an unknown job', async () => {
    assert.equal((await post('/jobs/nope/runs', '{}')).status, 404);
  });

  it('queues a run once (202, then 200) and lists it', async () => {
    const first = await post('/jobs/fraud/runs', '{"date":"2026-11-28"}');
    assert.equal(first.status, 202);
    const created = (await first.json()) as { runId: string; attempt: string; created: boolean; status: string };
    assert.deepEqual(
      { ...created, attempt: created.attempt.slice(0, 3) },
      { runId: 'fraud@2026-11-28', attempt: 'a1-', created: true, status: 'queued', message: `queued fraud@2026-11-28 attempt ${created.attempt}` },
    );
    const again = await post('/jobs/fraud/runs', '{"date":"2026-11-28"}');
    assert.equal(again.status, 200);
    assert.equal(((await again.clone().json()) as { created: boolean }).created, false);
    assert.equal(((await again.clone().json()) as { attempt: string }).attempt, created.attempt, 'the same attempt');
    assert.ok(await client.runs.getJob(planJobId('fraud@2026-11-28', created.attempt)), 'the plan job is in the queue');
    assert.equal(await client.runs.count(), 1, 'one job for two triggers');

    const list = (await (await fetch(`${base}/runs`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { runs: { runId: string }[] };
    assert.deepEqual(
      list.runs.map((r) => r.runId),
      ['fraud@2026-11-28'],
    );
    const one = await fetch(`${base}/runs/${encodeURIComponent('fraud@2026-11-28')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { status: string }).status, 'queued');

    const rerun = await post('/jobs/fraud/runs', '{"date":"2026-11-28","rerun":true}');
    assert.equal(rerun.status, 202);
    const second = (await rerun.json()) as { attempt: string; supersedes?: string; message: string };
    assert.match(second.attempt, /^a2-[0-9a-f]{4}$/);
    // No worker has started a1: the rerun overtakes it, and says so.
    assert.equal(second.supersedes, created.attempt);
    assert.match(second.message, new RegExp(`attempt ${created.attempt} had not started and will not run \\(superseded\\)`));
  });

  it('never echoes the token', async () => {
    const res = await post('/jobs/fraud/runs', '{"date":"bad"}');
    assert.ok(!(await res.text()).includes(TOKEN));
  });

  it('answers 400, not 500, for malformed percent-encoding in the path', async () => {
    const r = await rawExchange(base, `GET /runs/%ZZ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /percent-encoding/);
  });

  it('answers 413 to a chunked body over 16 KiB (no Content-Length) and closes the connection', async () => {
    const queued = await client.runs.count();
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    const reply = collect(socket);
    socket.write(
      `POST /jobs/fraud/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = 'x'.repeat(4096);
    // More than the limit, and the body never ends: the server must answer anyway.
    for (let i = 0; i < 6; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await reply;
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.match(r.text, /connection: close/i);
    assert.equal(await client.runs.count(), queued, 'nothing was enqueued');
  });

  it('answers 405 with Allow for other methods on known routes, 404 for unknown routes', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/jobs/fraud/runs', 'POST'],
      ['DELETE', '/jobs/fraud/runs', 'POST'],
      ['GET', '/jobs/fraud/runs', 'POST'],
      ['TRACE', '/runs', 'GET, HEAD'],
      ['DELETE', '/runs/fraud@2026-11-28', 'GET, HEAD'],
      ['PUT', '/runs/fraud@2026-11-28', 'GET, HEAD'],
      ['TRACE', '/runs/fraud@2026-11-28', 'GET, HEAD'],
    ];
    for (const [method, p, allow] of cases) {
      const r = await request(method, p);
      assert.equal(r.status, 405, `${method} ${p}`);
      assert.equal(r.headers.allow, allow, `${method} ${p}`);
    }
    assert.equal((await request('DELETE', '/nowhere')).status, 404);
    assert.equal((await request('HEAD', '/runs')).status, 200);
    assert.equal((await request('PUT', '/runs', 'none')).status, 401, 'the token is checked before the route');
  });

  it(`rejects logical dates outside ${MIN_LOGICAL_DATE}..${MAX_LOGICAL_DATE}`, async () => {
    const queued = await client.runs.count();
    for (const date of ['9999-12-31', '0000-01-01', '1969-12-31', '2200-01-01']) {
      const res = await post('/jobs/fraud/runs', JSON.stringify({ date }));
      assert.equal(res.status, 400, date);
      assert.match(JSON.stringify(await res.json()), /from 1970-01-01 to 2199-12-31/);
    }
    assert.equal(await client.runs.count(), queued, 'nothing was enqueued');
  });

  it('closes connections that stall: a partial body (408) and partial headers, within the configured timeouts', async () => {
    const strict = createApiServer({
      token: TOKEN,
      client,
      jobs: async () => new Map([[job.spec.name, job]]),
      timeouts: { headersMs: 1_000, bodyIdleMs: 1_000, requestMs: 3_000 },
    });
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', r));
    const queued = await client.runs.count();
    const strictBase = `http://127.0.0.1:${(strict.address() as AddressInfo).port}`;
    try {
      const partialBody = await rawExchange(
        strictBase,
        `POST /jobs/fraud/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"date":`,
      );
      assert.match(partialBody.text, /^HTTP\/1\.1 408 /);
      // 1 s idle, plus a generous margin for a busy machine; it stayed open over 70 s before.
      assert.ok(partialBody.ms < 6_000, `closed after ${partialBody.ms} ms`);

      const partialHeaders = await rawExchange(strictBase, `POST /jobs/fraud/runs HTTP/1.1\r\nHost: x\r\n`);
      assert.ok(partialHeaders.ms < 7_000, `closed after ${partialHeaders.ms} ms`);
      assert.equal(await client.runs.count(), queued, 'nothing was enqueued');
    } finally {
      strict.closeAllConnections();
      await new Promise((r) => strict.close(r));
    }
  });

  function request(method: string, p: string, token = TOKEN): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = http.request(base + p, { method, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
  }
});

/** Everything the server sends on `socket` until it closes the connection, and how long that took. */
function collect(socket: net.Socket): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for 20 s; received: ${text}`));
    }, 20_000);
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    // A reset after the answer is still a closed connection.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
  });
}

/** Sends `raw` on a new connection, sends nothing more, and collects the answer until close. */
function rawExchange(base: string, raw: string): Promise<{ text: string; ms: number }> {
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  const reply = collect(socket);
  socket.write(raw);
  return reply;
}
