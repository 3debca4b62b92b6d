/**
 * The dashboard's security edges over plain HTTP (no browser): the escape helper, signed session
 * cookies, login (wrong token, rate limit, other origins, open redirects), CSRF on API requests
 * made with a session, the bearer token unchanged, the CSP and no inline script or style, and
 * output downloads limited to the files a run's report names.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createDashboard, CSP } from '../src/dashboard/dashboard.js';
import { html, raw } from '../src/dashboard/html.js';
import { SessionKeys } from '../src/dashboard/session.js';
import { createApiServer } from '../src/http/server.js';
import { RunRegistry } from '../src/queue/run-registry.js';
import { Stores } from '../src/storage/stores.js';
import { DATE, fixture, runJob } from './helpers/jobs.js';
import { deleteKeys, randomPrefix, REDIS_URL } from './helpers/workers.js';

test('html escapes every interpolated value; only html`` and raw() pass markup through', () => {
  const payload = `<img src=x onerror="alert('1')">&\``;
  assert.equal(
    html`<td title="${payload}">${payload}</td>`.text,
    '<td title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;</td>',
  );
  assert.equal(html`<p>${[html`<b>${'<i>'}</b>`, '<u>', 3, null, undefined, false]}</p>`.text, '<p><b>&lt;i&gt;</b>&lt;u&gt;3</p>');
  assert.equal(html`${raw('<br>')}`.text, '<br>');
});

test('session cookies: signed, expiring, bound to the token; a changed byte is refused', () => {
  const keys = new SessionKeys('a-token-of-sixteen-chars');
  const { value, session } = keys.issue('ana', 1_000);
  assert.equal(keys.verify(value, 2_000)?.user, 'ana');
  assert.equal(keys.verify(value, 2_000)?.id, session.id);
  assert.equal(keys.verify(value, session.expiresAt + 1), undefined, 'expired');
  assert.equal(new SessionKeys('another-token-of-16-chars').verify(value, 2_000), undefined, 'another token');
  const [v, exp, id, user, mac] = value.split('.');
  assert.equal(keys.verify([v, exp, id, Buffer.from('root').toString('base64url'), mac].join('.'), 2_000), undefined, 'user changed');
  assert.equal(keys.verify([v, String(Number(exp) * 10), id, user, mac].join('.'), 2_000), undefined, 'expiry changed');
  assert.ok(!value.includes('a-token-of-sixteen-chars'));
});

test('login, cookies, CSRF, bearer, CSP and downloads over HTTP', async (t) => {
  const fx = await fixture(t, { files: { 'a.csv': 'id,note,f0,f1,f2,f3,f4,f5,f6,f7\nr1,n,1,2,3,4,5,6,7,8\nr2,n,x,2,3,4,5,6,7,8\n' } });
  await runJob(fx.job);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = randomPrefix('dash');
  t.after(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });
  const registry = new RunRegistry(redis, prefix);
  const stores = new Stores();
  t.after(() => stores.close());
  const token = randomBytes(16).toString('hex');
  const jobs = async (): Promise<Map<string, typeof fx.job>> => new Map([[fx.job.spec.name, fx.job]]);
  const client = { runs: undefined as never, registry, redis, prefix, close: async () => undefined };
  const dashboard = createDashboard({ token, client, jobs, stores });
  const server: Server = createApiServer({ token, client, jobs, stores, dashboard });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const login = (form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${origin}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'x-forwarded-for': 'ignored', ...headers }, body: new URLSearchParams(form) });

  // Unauthenticated: pages redirect to the login page; the API answers 401 as before.
  const home = await fetch(`${origin}/`, { redirect: 'manual' });
  assert.equal(home.status, 303);
  const grid = await fetch(`${origin}/ui/runs?page=2`, { redirect: 'manual' });
  assert.equal(grid.headers.get('location'), `/ui/login?next=${encodeURIComponent('/ui/runs?page=2')}`);
  assert.equal((await fetch(`${origin}/runs`)).status, 401);

  // From another site: refused before the token is even looked at.
  assert.equal((await login({ token }, { origin: 'https://evil.example' })).status, 403);
  // Open redirects: only /ui/ paths are followed after login.
  for (const next of ['//evil.example/', 'https://evil.example/', '/runs', '/ui/../x']) {
    const res = await login({ token, next });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/ui/runs', next);
  }
  const ok = await login({ token, name: 'ana', next: '/ui/jobs' });
  assert.equal(ok.headers.get('location'), '/ui/jobs');
  const setCookie = ok.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /^nightshift_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  const cookie = setCookie.split(';')[0] as string;
  // Behind TLS (X-Forwarded-Proto from the proxy): Secure, and the __Host- prefix.
  const tls = await login({ token }, { 'x-forwarded-proto': 'https' });
  assert.match(tls.headers.get('set-cookie') ?? '', /^__Host-nightshift=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);

  // Pages: CSP, no inline script or style, the CSRF token in a meta tag.
  const page = await fetch(`${origin}/ui/runs/${fx.job.spec.name}@${DATE}`, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-security-policy'), CSP);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const text = await page.text();
  assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(text, /\sstyle=|<style/, 'no inline style');
  assert.doesNotMatch(text, /\son[a-z]+=/, 'no inline event handler');
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(text)?.[1];
  assert.ok(csrf);
  assert.ok(!text.includes(token));

  // The JSON API with the session: reads pass; writes need the CSRF token and this origin.
  assert.equal((await fetch(`${origin}/runs`, { headers: { cookie } })).status, 200);
  const post = (headers: Record<string, string>): Promise<number> =>
    fetch(`${origin}/jobs/nope/runs`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{}' }).then(
      (r) => r.status,
    );
  assert.equal(await post({}), 403);
  assert.equal(await post({ 'x-csrf-token': 'forged' }), 403);
  assert.equal(await post({ 'x-csrf-token': csrf, origin: 'https://evil.example' }), 403);
  assert.equal(await post({ 'x-csrf-token': csrf, origin }), 404, 'past the checks: the job does not exist');
  // A CSRF token belongs to its session.
  const other = ((await login({ token })).headers.get('set-cookie') ?? '').split(';')[0] as string;
  assert.equal(await post({ cookie: other, 'x-csrf-token': csrf }), 403);
  // Bearer requests are unchanged, with or without a cookie.
  assert.equal((await fetch(`${origin}/jobs/nope/runs`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' })).status, 404);
  assert.equal(
    (await fetch(`${origin}/runs`, { headers: { authorization: 'Bearer wrong', cookie } })).status,
    401,
    'a wrong bearer is not rescued by a cookie',
  );
  // A tampered cookie is no session.
  assert.equal((await fetch(`${origin}/ui/runs`, { headers: { cookie: `${cookie}x` }, redirect: 'manual' })).status, 303);

  // Downloads: only files the report names, as attachments.
  const file = (name: string): Promise<Response> =>
    fetch(`${origin}/ui/runs/${fx.job.spec.name}@${DATE}/files?name=${encodeURIComponent(name)}`, { headers: { cookie } });
  const report = await file('_report.json');
  assert.equal(report.status, 200);
  assert.equal(report.headers.get('content-type'), 'application/octet-stream');
  assert.match(report.headers.get('content-disposition') ?? '', /^attachment; filename="_report.json"$/);
  assert.equal(((await report.json()) as { runId: string }).runId, `${fx.job.spec.name}@${DATE}`);
  for (const name of ['../job.yaml', '/etc/passwd', '_profile.json', 'model.onnx']) assert.equal((await file(name)).status, 404, name);

  // Assets: served with the CSP; anything else under /ui/assets/ is a 404.
  const js = await fetch(`${origin}/ui/assets/dashboard.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal((await fetch(`${origin}/ui/assets/uPlot.iife.min.js`)).status, 200);
  assert.equal((await fetch(`${origin}/ui/assets/..%2Fdashboard.ts`)).status, 404);
  assert.equal((await fetch(`${origin}/ui/assets/constructor`)).status, 404);

  // Logout needs the CSRF token too (a cross-site form cannot log you out).
  const out = (form: Record<string, string>): Promise<Response> =>
    fetch(`${origin}/ui/logout`, { method: 'POST', redirect: 'manual', headers: { cookie }, body: new URLSearchParams(form) });
  assert.equal((await out({})).status, 403);
  const bye = await out({ _csrf: csrf });
  assert.equal(bye.status, 303);
  assert.match(bye.headers.get('set-cookie') ?? '', /nightshift_session=; .*Max-Age=0/);

  // Wrong tokens: 401 each, then 429 from the same address.
  for (let i = 0; i < 10; i++) assert.equal((await login({ token: 'wrong' })).status, 401);
  const limited = await login({ token });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
});
