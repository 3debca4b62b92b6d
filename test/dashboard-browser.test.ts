/**
 * The dashboard in a real browser: Debian's chromium driven by puppeteer-core, against `serve`'s
 * API server with the dashboard mounted, a real worker process, real Redis and s3rver. Every wait
 * is on a page state (a selector, an attribute, an object in the bucket), never a fixed sleep.
 * Screenshots go to artifacts/ (git-ignored); with NIGHTSHIFT_UPDATE_SCREENSHOTS=1 the grid and
 * run page ones are also written to docs/ for the README.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { buildMlp } from '../scripts/models/models.js';
import { createDashboard } from '../src/dashboard/dashboard.js';
import { apiHasRoute, createApiServer } from '../src/http/server.js';
import type { RunReport } from '../src/report/run-report.js';
import type { LoadedJob } from '../src/spec/load-spec.js';
import { MLP, mlpSpec, tempDir, writeIn, writeJob } from './helpers/jobs.js';
import { normalCsv } from './helpers/monitoring.js';
import { createBucket, getObject, getText, putObject, startS3, storesFor } from './helpers/s3.js';
import { queueHarness, REPO_ROOT, waitFor } from './helpers/workers.js';
import { localBackend } from './helpers/registry.js';
import { registerModel } from '../src/registry/register-model.js';
import type { RunState } from '../src/queue/run-registry.js';
import { addDays } from '../src/run/run-identity.js';
import { nextTicks } from '../src/scheduler/cron-ticks.js';

const CHROMIUM = process.env.NIGHTSHIFT_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'artifacts');
const D1 = '2026-11-20';
const D2 = '2026-11-21';
const D3 = '2026-11-22';
const D4 = '2026-11-23';
const D5 = '2026-11-24';
const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(2)</script>';

/** CSV of the 8-feature MLP with two rejected rows whose cells are XSS payloads. */
function inputWithPayloads(seed: number): string {
  const good = normalCsv(3000, seed);
  return `${good}"${XSS_IMG}",x,abc,0,0,0,0,0,0,0\n"${XSS_SCRIPT}","${XSS_IMG}",1,2\n`;
}

test(
  'dashboard in a real browser: login, grid, run page, trigger, approve, XSS, CSRF',
  { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`, timeout: 240_000 },
  async (t) => {
    const s3 = await startS3();
    t.after(() => s3.stop());
    const bucket = await createBucket(s3, 'dash');
    const dir = await tempDir(t, 'dash');
    await writeIn(dir, 'model.onnx', buildMlp(MLP));
    await writeIn(dir, 'challenger.onnx', buildMlp({ ...MLP, seed: 8 }));
    await putObject(s3, bucket, `in/${D1}/a.csv`, inputWithPayloads(21));
    await putObject(s3, bucket, `in/${D2}/a.csv`, normalCsv(2000, 23));
    const base = mlpSpec();
    const job = await writeJob(dir, {
      ...base,
      description: `nightly test job ${XSS_SCRIPT}`,
      model: { ...base.model, challenger: { uri: 'challenger.onnx', threshold: 0.5 } },
      input: { ...base.input, uri: `s3://${bucket}/in/{{date}}/` },
      output: { uri: `s3://${bucket}/out/{{date}}/` },
    });
    const h = await queueHarness(t);
    const s3Env = { NIGHTSHIFT_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    await h.spawnWorker({ NIGHTSHIFT_LOCK_MS: '4000', NIGHTSHIFT_STALLED_MS: '2000', ...s3Env });

    // A finished run before the browser opens.
    const first = await h.trigger(job, D1);
    assert.equal((await h.waitForRun(first.runId, first.attempt, { timeoutMs: 90_000 })).status, 'succeeded', h.logs());
    // A held job: the first run's profile is its baseline and its input is shifted by one sd.
    await putObject(s3, bucket, 'baseline.json', await getText(s3, bucket, `out/${D1}/_profile.json`));
    await putObject(s3, bucket, `in/${D3}/a.csv`, normalCsv(3000, 22, 1));
    const held = await writeJob(
      dir,
      {
        ...base,
        name: 'held-job',
        schedule: { cron: '30 2 * * *', timezone: 'Europe/Berlin' },
        input: { ...base.input, uri: `s3://${bucket}/in/{{date}}/` },
        output: { uri: `s3://${bucket}/held/{{date}}/` },
        monitor: { baseline: { uri: `s3://${bucket}/baseline.json` }, onDrift: 'hold' },
      },
      'held.yaml',
    );
    const jobs = new Map<string, LoadedJob>([
      [job.spec.name, job],
      [held.spec.name, held],
    ]);

    const stores = storesFor(s3);
    t.after(() => stores.close());
    const token = randomBytes(16).toString('hex');
    const client = { runs: h.runs, registry: h.registry, redis: h.redis, prefix: h.prefix, close: async () => undefined };
    const models = await localBackend.create(t);
    await registerModel(models.registry, { name: 'fraud', bytes: buildMlp(MLP), source: 'v1.onnx', by: 'ana', description: 'first', alias: 'champion' });
    await registerModel(models.registry, {
      name: 'fraud',
      bytes: buildMlp({ ...MLP, seed: 8 }),
      source: 'v2.onnx',
      by: 'bob',
      description: `retrained ${XSS_IMG}`,
    });
    const registry = async (): Promise<typeof models.registry> => models.registry;
    const canCancel = apiHasRoute('POST', ['runs', ':id', 'cancel']);
    const dashboard = createDashboard({ token, client, jobs: async () => jobs, stores, registry, canCancel, queuesPath: '/admin/queues/' });
    const server: Server = createApiServer({ token, client, jobs: async () => jobs, stores, dashboard, registry });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise((r) => server.close(r)));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const profile = await mkdtemp(path.join(os.tmpdir(), 'nightshift-chromium-'));
    const browser: Browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    t.after(async () => {
      // The browser first (it writes its profile until it has exited), then its profile folder.
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000).unref())]).catch(() => undefined);
      browser.process()?.kill('SIGKILL');
      await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    });
    const page: Page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.setDefaultTimeout(30_000);
    const consoleErrors: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${String(err)}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = async (name: string): Promise<void> => {
      await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
    };

    await t.test('the API still needs the bearer token; / sends a browser to the login page', async () => {
      assert.equal((await fetch(`${origin}/runs`)).status, 401);
      assert.equal((await fetch(`${origin}/runs`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      await page.goto(`${origin}/`);
      assert.equal(new URL(page.url()).pathname, '/ui/login');
      const csp = (await fetch(`${origin}/ui/login`)).headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
    });

    await t.test('log in with the token: an HttpOnly SameSite=Strict cookie, the token nowhere in the page', async () => {
      await page.type('#token', 'wrong-token-xxxxxxxx');
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      assert.match(await page.$eval('[role="alert"]', (e) => e.textContent ?? ''), /not the API token/);
      // The refused login answers 401, which the console reports: expected, and the only one.
      assert.deepEqual(consoleErrors.splice(0), ['error: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
      await page.type('#token', token);
      await page.type('#name', 'ana');
      await Promise.all([page.waitForNavigation(), page.click('form[action="/ui/login"] button[type="submit"]')]);
      assert.equal(new URL(page.url()).pathname, '/ui/runs');
      assert.equal(await page.$eval('nav a[href="/admin/queues/"]', (e) => e.textContent), 'Queues', 'Bull Board is linked from the nav');
      const cookies = await browser.cookies();
      assert.equal(cookies.length, 1);
      assert.equal(cookies[0]?.httpOnly, true);
      assert.equal(cookies[0]?.sameSite, 'Strict');
      assert.ok(!cookies[0]?.value.includes(token));
      assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is not readable by scripts');
      assert.ok(!(await page.content()).includes(token), 'the token is not in the page');
      assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0);
    });

    await t.test('the grid shows the finished run; the run page shows rows, rejections, the histogram', async () => {
      await page.waitForSelector(`a[data-run="test-job@${D1}"][data-status="succeeded"]`);
      await shot('grid');
      await Promise.all([page.waitForNavigation(), page.click(`a[data-run="test-job@${D1}"]`)]);
      assert.equal(decodeURIComponent(new URL(page.url()).pathname), `/ui/runs/test-job@${D1}`);
      const report = JSON.parse(await getText(s3, bucket, `out/${D1}/_report.json`)) as RunReport;
      const rows = await page.$$eval('[data-rows]', (els) =>
        Object.fromEntries(els.map((e) => [e.getAttribute('data-rows'), (e.textContent ?? '').replace(/,/g, '')])),
      );
      assert.deepEqual(rows, { read: String(report.rows.read), scored: String(report.rows.scored), rejected: String(report.rows.rejected) });
      assert.equal(report.rows.rejected, 2);
      const hist = report.scores.score;
      assert.ok(hist);
      const nonEmpty = hist.histogram.fractions.filter((f) => f > 0).length;
      await page.waitForSelector('[data-chart="histogram"][data-bars] canvas');
      const drawn = await page.$eval('[data-chart="histogram"]', (e) => ({
        bars: Number(e.getAttribute('data-bars')),
        bins: Number(e.getAttribute('data-bins')),
      }));
      assert.deepEqual(drawn, { bars: nonEmpty, bins: hist.histogram.fractions.length });
      assert.ok(nonEmpty >= 3, 'a real histogram has several bars');
      // The challenger scored beside it: its comparison is on the page.
      assert.equal(report.challenger?.status, 'compared', JSON.stringify(report.challenger));
      const challenger = await page.$eval('[data-section="challenger"]', (e) => e.textContent ?? '');
      assert.match(challenger, new RegExp(`compared on ${report.challenger.rows.toLocaleString('en-US')} rows`));
      assert.match(challenger, /Pearson/);
      assert.equal(await page.$$eval('[data-comparison="score"]', (els) => els.length), 1);
      await shot('run');
    });

    await t.test('XSS payloads in the errors sample and the job description render as text', async () => {
      const cells = await page.$$eval('table.errors td', (tds) => tds.map((td) => td.textContent ?? ''));
      assert.ok(
        cells.some((c) => c.includes(XSS_IMG)),
        `the <img> payload is shown as text: ${JSON.stringify(cells)}`,
      );
      assert.ok(
        cells.some((c) => c.includes(XSS_SCRIPT)),
        'the <script> payload is shown as text',
      );
      assert.equal(await page.$$eval('table.errors img, table.errors script', (els) => els.length), 0, 'no element was made from data');
      await page.goto(`${origin}/ui/jobs`);
      const desc = await page.$eval('tr[data-job="test-job"] th', (e) => e.textContent ?? '');
      assert.ok(desc.includes(XSS_SCRIPT));
      assert.equal(await page.$$eval('main script', (els) => els.length), 0);
      // One finished run so far: its rows as text (a sparkline needs two).
      assert.match(await page.$eval('tr[data-job="test-job"]', (e) => e.textContent ?? ''), /last: 3,002 rows, 0\.07 % rejected/);
      // The schedule as written, the next fire as an instant shown in the viewer's time zone.
      const sched = await page.$eval('tr[data-job="held-job"]', (tr) => ({
        text: tr.textContent ?? '',
        at: tr.querySelector('time')?.getAttribute('datetime') ?? '',
      }));
      assert.match(sched.text, /30 2 \* \* \*\s+Europe\/Berlin/);
      assert.equal(sched.at, nextTicks('30 2 * * *', 'Europe/Berlin', new Date(), 1)[0]?.at.toISOString());
      assert.deepEqual(dialogs, [], 'no payload ran');
    });

    await t.test('CSRF: a state-changing request with the session but without the token is refused', async () => {
      await page.goto(`${origin}/ui/runs`);
      // A string, not a function: tsx's helpers do not exist in the page.
      const post = (headers: string): Promise<number> =>
        page.evaluate(
          `fetch('/jobs/test-job/runs', { method: 'POST', headers: { 'content-type': 'application/json', ${headers} }, body: JSON.stringify({ date: '${D2}' }) }).then((r) => r.status)`,
        ) as Promise<number>;
      assert.equal(await post(''), 403, 'no CSRF token');
      assert.equal(await post(`'x-csrf-token': 'forged'`), 403, 'a wrong CSRF token');
      assert.equal(consoleErrors.splice(0).filter((e) => !/status of 403/.test(e)).length, 0);
      assert.equal(await h.registry.get(`test-job@${D2}`), undefined, 'no run was created');
      // The same request from a plain client: no session, no token → 401.
      assert.equal((await fetch(`${origin}/jobs/test-job/runs`, { method: 'POST', body: '{}' })).status, 401);
    });

    await t.test('trigger a run with the button: its cell turns succeeded without a reload', async () => {
      await page.evaluate('window.notReloaded = true');
      await page.select('#trigger-job', 'test-job');
      await page.evaluate(`document.getElementById('trigger-date').value = '${D2}'`);
      await page.click('form[data-form="trigger"] button[type="submit"]');
      await page.waitForSelector(`a[data-run="test-job@${D2}"]`, { timeout: 30_000 });
      await page.waitForSelector(`a[data-run="test-job@${D2}"][data-status="succeeded"]`, { timeout: 90_000 });
      assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    });

    await t.test('a run page follows its run live: queued, then its report, without a reload', async () => {
      await putObject(s3, bucket, `in/${D4}/a.csv`, normalCsv(1500, 24));
      // Paused, the queue keeps the run queued while the page opens on it.
      await h.runs.pause();
      const trig = await h.trigger(job, D4);
      await page.goto(`${origin}/ui/runs/${encodeURIComponent(trig.runId)}`);
      await page.waitForSelector('[data-progress] progress');
      assert.equal(await page.$eval('[data-field="status"]', (e) => e.textContent), 'queued');
      await page.evaluate('window.notReloaded = true');
      await h.runs.resume();
      await page.waitForFunction(`document.querySelector('.page-head .badge')?.textContent === 'succeeded'`, { timeout: 90_000 });
      await page.waitForSelector('[data-chart="histogram"][data-bars]');
      assert.equal(await page.$('[data-progress]'), null, 'the progress bar gave way to the report');
      assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    });

    await t.test('cancel a queued run from its page', { skip: canCancel ? false : 'the API has no POST /runs/:id/cancel' }, async () => {
      await h.runs.pause();
      try {
        const trig = await h.trigger(job, D5);
        await page.goto(`${origin}/ui/runs/${encodeURIComponent(trig.runId)}`);
        await page.click('button[data-action="cancel"]');
        await page.waitForSelector('dialog#confirm[open]');
        await page.type('#confirm-reason', 'wrong date');
        await page.click('#confirm-ok');
        await page.waitForFunction(`document.querySelector('.page-head .badge')?.textContent === 'cancelled'`);
        assert.equal((await h.registry.get(trig.runId, trig.attempt))?.status, 'cancelled');
        assert.equal(await page.$('button[data-action="cancel"]'), null, 'an ended run has no cancel button');
      } finally {
        await h.runs.resume();
      }
    });

    await t.test('approve a held run from its page (keyboard only): _SUCCESS appears in the bucket', async () => {
      const trig = await h.trigger(held, D3);
      assert.equal((await h.waitForRun(trig.runId, trig.attempt, { timeoutMs: 90_000 })).status, 'held', h.logs());
      assert.equal(await getObject(s3, bucket, `held/${D3}/_SUCCESS`), undefined);
      await page.goto(`${origin}/ui/runs/${encodeURIComponent(trig.runId)}`);
      await page.waitForSelector('table.drift');
      await shot('held');
      const buttons = await page.$$eval('main button', (els) =>
        els.map((b) => ({
          tag: b.tagName,
          name: (b.getAttribute('aria-label') ?? b.textContent ?? '').trim(),
          tabIndex: (b as unknown as { tabIndex: number }).tabIndex,
        })),
      );
      assert.ok(buttons.length >= 3);
      for (const b of buttons) assert.ok(b.name.length > 0 && b.tabIndex >= 0, `labelled, focusable button: ${JSON.stringify(b)}`);
      // Tab to Approve, Enter opens the confirmation, type a reason, Enter confirms.
      let focused = '';
      for (let i = 0; i < 40 && focused !== 'approve'; i++) {
        await page.keyboard.press('Tab');
        focused = (await page.evaluate(`document.activeElement?.dataset.action ?? ''`)) as string;
      }
      assert.equal(focused, 'approve', 'Approve is reachable with Tab');
      await page.keyboard.press('Enter');
      await page.waitForSelector('dialog#confirm[open]');
      await page.keyboard.type('checked the drift table');
      await page.keyboard.press('Enter');
      await waitFor('_SUCCESS of the approved run', async () => ((await getObject(s3, bucket, `held/${D3}/_SUCCESS`)) ? true : undefined), {
        timeoutMs: 30_000,
      });
      await page.waitForFunction(`document.querySelector('.page-head .badge')?.textContent === 'succeeded'`);
      const report = JSON.parse(await getText(s3, bucket, `held/${D3}/_report.json`)) as RunReport;
      assert.equal(report.approval?.by, 'ana (HTTP)');
      assert.equal(report.approval?.reason, 'checked the drift table');
      await shot('approved');
    });

    await t.test('models: promote and roll back an alias, each after a confirmation', async () => {
      await page.goto(`${origin}/ui/models`);
      await page.waitForSelector('#model-fraud');
      const descriptions = await page.$$eval('#model-fraud td', (tds) => tds.map((td) => td.textContent ?? ''));
      assert.ok(
        descriptions.some((d) => d.includes(XSS_IMG)),
        'the description is text',
      );
      assert.equal(await page.$$eval('#model-fraud img', (els) => els.length), 0);
      // Cancelling the confirmation changes nothing.
      await page.select('#promote-fraud-version', '2');
      await page.click('form[data-form="promote"] button[type="submit"]');
      await page.waitForSelector('dialog#confirm[open]');
      await page.click('dialog#confirm button[value="cancel"]');
      await page.waitForSelector('dialog#confirm:not([open])');
      assert.equal((await models.registry.alias('fraud', 'champion'))?.record.version, 1);
      // Confirmed: champion moves to v2, recorded with the reason and who.
      await page.click('form[data-form="promote"] button[type="submit"]');
      await page.waitForSelector('dialog#confirm[open]');
      await page.type('#confirm-reason', 'AUC +0.02');
      await page.click('#confirm-ok');
      await page.waitForSelector('button[data-action="rollback"][data-alias="champion"]');
      const moved = await models.registry.alias('fraud', 'champion');
      assert.equal(moved?.record.version, 2);
      assert.equal(moved?.record.reason, 'AUC +0.02');
      await shot('models');
      await page.click('button[data-action="rollback"][data-alias="champion"]');
      await page.waitForSelector('dialog#confirm[open]');
      await page.click('#confirm-ok');
      await waitFor('champion back at v1', async () => ((await models.registry.alias('fraud', 'champion'))?.record.version === 1 ? true : undefined), {
        timeoutMs: 20_000,
      });
    });

    await t.test('the grid with runs of every status (illustration for the README screenshot)', async () => {
      // Records only, on the 9 dates before the real runs: they show the colours; nothing asserts on their reports.
      const states: RunState[] = [
        'succeeded',
        'failed',
        'succeeded',
        'held',
        'succeeded',
        'skipped',
        'cancelled',
        'succeeded',
        'running',
        'queued',
        'succeeded',
        'failed',
      ];
      for (const [j, name] of ['test-job', 'held-job'].entries()) {
        for (let d = 1; d <= 9; d++) {
          const logicalDate = addDays(D1, -d);
          await h.registry.create({
            runId: `${name}@${logicalDate}`,
            attempt: 'a1-0000',
            job: name,
            logicalDate,
            status: states[(d + j * 5) % states.length] as RunState,
            triggeredAt: new Date(Date.now() - d * 86_400_000).toISOString(),
            trigger: 'schedule',
          });
        }
      }
      await page.goto(`${origin}/ui/runs`);
      await page.waitForSelector(`a[data-run="held-job@${D3}"][data-status="succeeded"]`);
      assert.equal(await page.$$eval('a.run', (els) => els.length), (canCancel ? 5 : 4) + 18, 'the real runs and 18 illustrations (14 dates: one page)');
      await shot('grid-all');
      await page.goto(`${origin}/ui/jobs`);
      await page.waitForSelector('tr[data-job="test-job"] [data-chart="spark"] canvas');
      await shot('jobs');
    });

    await t.test('no errors in the browser console', () => {
      assert.deepEqual(consoleErrors, []);
    });

    if (process.env.NIGHTSHIFT_UPDATE_SCREENSHOTS === '1') {
      await mkdir(path.join(REPO_ROOT, 'docs'), { recursive: true });
      for (const [from, to] of [
        ['grid-all', 'grid'],
        ['run', 'run'],
        ['held', 'held'],
        ['jobs', 'jobs'],
        ['models', 'models'],
      ]) {
        await copyFile(path.join(ARTIFACTS, `dashboard-${from}.png`), path.join(REPO_ROOT, 'docs', `dashboard-${to}.png`));
      }
    }
  },
);
