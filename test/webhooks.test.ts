/**
 * notify: webhooks from real runs to a real HTTP receiver on loopback, which verifies the
 * HMAC-SHA256 signature the way the README tells receivers to, and fails the first tries.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import type { EventBody } from '../src/run/notify-run.js';
import { fixture, mlpSpec, runJob, writeIn } from './helpers/jobs.js';
import { normalCsv } from './helpers/monitoring.js';
import { waitFor } from './helpers/workers.js';

const SECRET = 'whsec-test-3f9a1c77d2';

/** The README's verification: HMAC over "<timestamp>.<raw body>", constant-time compare, fresh timestamp. */
function verify(secret: string, headers: IncomingMessage['headers'], raw: string): boolean {
  const ts = String(headers['x-nightshift-timestamp'] ?? '');
  const sig = String(headers['x-nightshift-signature'] ?? '');
  const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
  const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
  return fresh && sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

interface Received {
  tries: number;
  verified: EventBody[];
  rejected: number;
}

async function receiver(t: Parameters<typeof fixture>[0], behaviour: (n: number, res: ServerResponse) => void): Promise<{ url: string; got: Received }> {
  const got: Received = { tries: 0, verified: [], rejected: 0 };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      got.tries++;
      if (!verify(SECRET, req.headers, raw)) {
        got.rejected++;
        res.writeHead(401).end();
        return;
      }
      if (got.tries <= 2) {
        behaviour(got.tries, res);
        return;
      }
      got.verified.push(JSON.parse(raw) as EventBody);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

test('drift and failure webhooks: signed, retried past 500s and a hanging receiver, never blocking the run', async (t) => {
  process.env.NIGHTSHIFT_TEST_HOOK_SECRET = SECRET;
  process.env.NIGHTSHIFT_NOTIFY_BACKOFF_MS = '50';
  process.env.NIGHTSHIFT_NOTIFY_TIMEOUT_MS = '500';
  t.after(() => {
    delete process.env.NIGHTSHIFT_TEST_HOOK_SECRET;
    delete process.env.NIGHTSHIFT_NOTIFY_BACKOFF_MS;
    delete process.env.NIGHTSHIFT_NOTIFY_TIMEOUT_MS;
  });
  const failing = await receiver(t, (_n, res) => res.writeHead(500).end('try later'));
  const hanging = await receiver(t, () => undefined); // never answers the first two tries
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(3000, 41) } });
  await runJob(fx.job);
  await writeIn(fx.dir, 'baseline.json', await readFile(path.join(fx.outputDir, '_profile.json')));
  await writeIn(fx.inputDir, 'a.csv', normalCsv(3000, 42, 1));
  const spec = {
    ...mlpSpec(),
    monitor: { baseline: { uri: 'baseline.json' }, onDrift: 'fail' as const },
    notify: [
      { url: failing.url, events: ['drift' as const, 'failed' as const], secretEnv: 'NIGHTSHIFT_TEST_HOOK_SECRET' },
      { url: hanging.url, events: ['failed' as const], secretEnv: 'NIGHTSHIFT_TEST_HOOK_SECRET' },
    ],
  };
  const { writeJob } = await import('./helpers/jobs.js');
  const job = await writeJob(fx.dir, spec);
  const started = Date.now();
  const r = await runJob(job);
  assert.equal(r.report.status, 'failed');
  assert.ok(Date.now() - started < 60_000);
  // The run returned before its webhooks were through: nothing has been verified yet.
  assert.equal(failing.got.verified.length, 0);
  await waitFor('both events delivered past two 500s', () => (failing.got.verified.length === 2 ? true : undefined), { timeoutMs: 20_000 });
  await waitFor('the failure delivered past a hanging receiver', () => (hanging.got.verified.length === 1 ? true : undefined), { timeoutMs: 20_000 });
  assert.deepEqual(failing.got.verified.map((b) => b.event).sort(), ['drift', 'failed']);
  assert.equal(failing.got.rejected, 0, 'every try was correctly signed');
  const body = failing.got.verified.find((b) => b.event === 'drift') as EventBody;
  assert.equal(body.runId, 'test-job@2026-11-28');
  assert.equal(body.status, 'failed');
  assert.equal(body.monitoring?.verdict, 'drift');
  assert.ok(body.monitoring?.drifted.length);
  const report = await readFile(path.join(fx.outputDir, '_report.json'), 'utf8');
  assert.ok(!report.includes(SECRET), 'the secret is in no report');
  assert.ok(!JSON.stringify(failing.got.verified).includes(SECRET), 'nor in a body');
});

test('a webhook that always fails is given up on and reported; the run is unaffected', async (t) => {
  const { notifyRun } = await import('../src/run/notify-run.js');
  const always = await receiver(t, (_n, res) => res.writeHead(503).end());
  const fx = await fixture(t, { files: { 'a.csv': normalCsv(100, 43) } });
  const r = await runJob(fx.job);
  const lines: string[] = [];
  const spec = { ...fx.job.spec, notify: [{ url: always.url, events: ['succeeded' as const], secretEnv: undefined, format: 'json' as const }] };
  await notifyRun(spec, r.report, { attempts: 2, baseMs: 10, timeoutMs: 500, log: (l) => lines.push(l) });
  assert.equal(always.got.tries, 2);
  assert.equal(always.got.rejected, 2, 'unsigned without a secret: the receiver refuses it');
  assert.match(lines.join('\n'), /webhook succeeded for test-job@2026-11-28 to http:\/\/127\.0\.0\.1:\d+ failed after 2 tries: HTTP 401/);
  assert.ok(!lines.join('').includes('/hook'), 'the URL path (often a token) is not logged');
});
