/**
 * The registry from the command line (real CLI processes) and over HTTP (the API server with its
 * bearer token): register → promote → show → rollback → history, with the exit codes and HTTP
 * statuses a script relies on.
 *
 *   node --import tsx --test test/model-commands.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { openQueueClient } from '../src/queue/queue-client.js';
import { createApiServer } from '../src/http/server.js';
import { openRegistry } from '../src/registry/open-registry.js';
import { Stores } from '../src/storage/stores.js';
import { MLP, tempDir } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';

describe('nightshift model (CLI)', () => {
  it('registers, promotes, shows, rolls back and lists history; bad input exits 2 and says why', { timeout: 120_000 }, async (t) => {
    const dir = await tempDir(t, 'model-cli');
    const reg = path.join(dir, 'registry');
    await mkdir(reg);
    await writeFile(path.join(dir, 'v1.onnx'), buildMlp(MLP));
    await writeFile(path.join(dir, 'v2.onnx'), buildMlp({ features: 4, hidden: 8, seed: 3 }));
    await writeFile(path.join(dir, 'metrics.json'), '{"auc": 0.91}');
    const env = { NIGHTSHIFT_REGISTRY: reg, NIGHTSHIFT_USER: 'ana' };
    const cli = (...args: string[]) => runCli(['model', ...args], env);

    let r = await cli(
      'register',
      'fraud',
      path.join(dir, 'v1.onnx'),
      '--alias',
      'champion',
      '--description',
      'first',
      '--attach',
      path.join(dir, 'metrics.json'),
    );
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /registered fraud@1 \(sha256 [0-9a-f]{64}, \d+ bytes\)/);
    assert.match(r.output, /fraud@champion → version 1, by ana/);
    r = await cli('register', 'fraud', path.join(dir, 'v2.onnx'));
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /the signature differs from version 1:\n {2}- input "features" changed from float32 \[N, 8\] to float32 \[N, 4\]/);
    r = await cli('promote', 'fraud', '2', '--alias', 'champion', '--reason', 'new features');
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /fraud@champion → version 2 \(was 1\), by ana .*: new features/);
    r = await cli('show', 'fraud@champion', '--json');
    assert.equal(r.code, 0, r.output);
    assert.equal(JSON.parse(r.output).version, 2);
    r = await cli('show', 'fraud@1');
    assert.match(r.output, /file {8}metrics\.json \(13 bytes/);
    r = await cli('rollback', 'fraud', '--alias', 'champion');
    assert.match(r.output, /fraud@champion → version 1 \(was 2\).*rollback from version 2/);
    r = await cli('history', 'fraud');
    assert.equal(r.output.trim().split('\n').length, 3, r.output);
    r = await cli('list');
    assert.match(r.output, /fraud\s+versions 1-2\s+champion→1/);

    for (const [args, message] of [
      [['show', 'fraud@9'], /model fraud has no version 9 in .* \(versions: 1-2\)/],
      [['promote', 'fraud', '7', '--alias', 'champion'], /model fraud has no version 7/],
      [['register', 'fraud', path.join(dir, 'metrics.json')], /model metrics\.json is not a valid ONNX model/],
      [['show', 'nope@champion'], /no model named "nope"/],
      [['promote', 'fraud', '2'], /--alias is required/],
    ] as const) {
      r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.output}`);
      assert.match(r.output, message);
    }
    r = await runCli(['model', 'list'], { NIGHTSHIFT_REGISTRY: '' });
    assert.equal(r.code, 2);
    assert.match(r.output, /no model registry given: pass --registry <uri> .* or set NIGHTSHIFT_REGISTRY/);
  });
});

describe('/models (HTTP)', () => {
  it('registers, promotes, rolls back and shows history behind the bearer token', async (t) => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    process.env.NIGHTSHIFT_REDIS_PREFIX = `test-models-http-${randomBytes(4).toString('hex')}`;
    const dir = await tempDir(t, 'model-http');
    const stores = new Stores();
    const registry = await openRegistry(dir, stores);
    const client = await openQueueClient();
    const server: Server = createApiServer({ token, client, jobs: async () => new Map(), registry: async () => registry });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(async () => {
      await new Promise((r) => server.close(r));
      await client.close();
      stores.close();
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const call = async (method: string, p: string, body?: string | Uint8Array, auth = `Bearer ${token}`) => {
      const res = await fetch(base + p, { method, ...(body !== undefined ? { body } : {}), headers: { authorization: auth } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    assert.equal((await call('GET', '/models', undefined, 'Bearer wrong')).status, 401);
    assert.equal((await call('POST', '/models/fraud/versions', buildMlp(MLP), '')).status, 401);
    assert.deepEqual(await registry.list(), [], 'an unauthenticated upload registers nothing');

    let r = await call('POST', '/models/fraud/versions?alias=champion&by=ci', buildMlp(MLP));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal((r.json.record as { version: number }).version, 1);
    r = await call('POST', '/models/fraud/versions', buildMlp({ ...MLP, seed: 8 }));
    assert.equal(r.status, 201);
    r = await call('POST', '/models/fraud/versions', Buffer.from('not a model'));
    assert.equal(r.status, 400);
    assert.match(String(r.json.error), /is not a valid ONNX model/);

    r = await call('POST', '/models/fraud/aliases/champion', JSON.stringify({ version: 2, reason: 'better', by: 'ana' }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((r.json.record as { version: number }).version, 2);
    r = await call('POST', '/models/fraud/aliases/champion', JSON.stringify({ version: 9 }));
    assert.equal(r.status, 404);
    r = await call('POST', '/models/fraud/aliases/champion', JSON.stringify({ version: 'two' }));
    assert.equal(r.status, 400);
    r = await call('GET', '/models/fraud/aliases/champion');
    assert.deepEqual([r.status, r.json.version, r.json.movedBy], [200, 2, 'ana']);
    r = await call('POST', '/models/fraud/aliases/champion/rollback', '{}');
    assert.deepEqual([r.status, (r.json.record as { version: number }).version], [200, 1]);
    r = await call('GET', '/models/fraud/history');
    assert.deepEqual(
      (r.json.history as { version: number }[]).map((h) => h.version),
      [1, 2, 1],
    );
    r = await call('GET', '/models/fraud/versions/2');
    assert.equal(r.json.version, 2);
    r = await call('GET', '/models/nope');
    assert.equal(r.status, 404);
    r = await call('DELETE', '/models/fraud');
    assert.equal(r.status, 405);
  });
});
