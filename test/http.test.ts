import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { openQueueClient, type QueueClient } from '../src/cli/queue-client.js';
import { createApiServer, MAX_BODY_BYTES } from '../src/http/server.js';
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
    assert.deepEqual({ ...created, attempt: created.attempt.slice(0, 3) }, { runId: 'fraud@2026-11-28', attempt: 'a1-', created: true, status: 'queued' });
    const again = await post('/jobs/fraud/runs', '{"date":"2026-11-28"}');
    assert.equal(again.status, 200);
    assert.equal(((await again.clone().json()) as { created: boolean }).created, false);
    assert.equal(((await again.clone().json()) as { attempt: string }).attempt, created.attempt, 'the same attempt');
    assert.ok(await client.runs.getJob(planJobId('fraud@2026-11-28', created.attempt)), 'the plan job is in the queue');
    assert.equal(await client.runs.count(), 1, 'one job for two triggers');

    const list = (await (await fetch(`${base}/runs`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { runs: { runId: string }[] };
    assert.deepEqual(list.runs.map((r) => r.runId), ['fraud@2026-11-28']);
    const one = await fetch(`${base}/runs/${encodeURIComponent('fraud@2026-11-28')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { status: string }).status, 'queued');

    const rerun = await post('/jobs/fraud/runs', '{"date":"2026-11-28","rerun":true}');
    assert.equal(rerun.status, 202);
    assert.match(((await rerun.json()) as { attempt: string }).attempt, /^a2-[0-9a-f]{4}$/);
  });

  it('never echoes the token', async () => {
    const res = await post('/jobs/fraud/runs', '{"date":"bad"}');
    assert.ok(!(await res.text()).includes(TOKEN));
  });
});
