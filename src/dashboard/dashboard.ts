/**
 * The dashboard, served by `nightshift serve` next to the JSON API: HTML pages under /ui/ (and /
 * redirecting there), its static files, login and logout. It also vouches for API requests a
 * logged-in browser makes with its session cookie (the pages' buttons call the JSON API), after
 * the CSRF checks; every other API request still needs the bearer token, exactly as before.
 *
 * Every response carries a strict Content-Security-Policy: scripts and styles only from this
 * origin, no inline script or style, nothing from elsewhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { outcomeOf, httpMessage } from '../core/outcomes.js';
import type { Logger } from '../core/logger.js';
import type { QueueClient } from '../queue/queue-client.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { defaultLogicalDate, parseRunId } from '../run/run-identity.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { Stores } from '../storage/stores.js';
import { asset } from './assets.js';
import { CSRF_HEADER, csrfToken, csrfTokenMatches, isStateChanging, sameOrigin } from './csrf.js';
import { loadGrid } from './grid-data.js';
import type { Html } from './html.js';
import { loadJobs } from './jobs-data.js';
import { loadModels } from './models-data.js';
import { gridPage } from './pages/grid.js';
import { jobsPage } from './pages/jobs.js';
import type { PageContext } from './pages/layout.js';
import { errorPage, loginPage } from './pages/login.js';
import { modelsPage } from './pages/models.js';
import { runPage } from './pages/run.js';
import { fileRef, linkableFiles, loadRun } from './run-data.js';
import { clearSessionCookies, sameText, sessionCookieValue, SessionKeys, setSessionCookie, type Session } from './session.js';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface DashboardOptions {
  /** The API token: what a person logs in with, and the root of the session key. */
  readonly token: string;
  readonly client: Pick<QueueClient, 'registry'>;
  readonly jobs: () => Promise<Map<string, LoadedJob>>;
  /** Where reports, errors files and parts are read. */
  readonly stores: Stores;
  readonly registry?: (() => Promise<ModelRegistry>) | undefined;
  /** Where Bull Board is mounted, for the nav (none when not). */
  readonly queuesPath?: string | undefined;
  /** The API has POST /runs/:id/cancel: show the cancel button. */
  readonly canCancel?: boolean | undefined;
  readonly log?: Logger | undefined;
}

export interface DashboardHandler {
  /** Paths the dashboard answers itself: /, /ui and everything under /ui/. */
  owns(path: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * For an API request: 'session' when a valid session cookie vouches for it (and, if it changes
   * state, it passed the CSRF checks); 'refused' when it carried a session but failed them (a 403
   * was sent); 'none' when there is no session (or an Authorization header: bearer decides).
   */
  authorize(req: IncomingMessage, res: ServerResponse): 'session' | 'refused' | 'none';
}

/** Failed logins allowed per client address and window, before 429. */
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 5 * 60_000;
const MAX_FORM_BYTES = 4 * 1024;

class PageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createDashboard(opts: DashboardOptions): DashboardHandler {
  const keys = new SessionKeys(opts.token);
  const failures = new Map<string, { count: number; until: number }>();

  const session = (req: IncomingMessage): Session | undefined => keys.verify(sessionCookieValue(req));

  const context = (s: Session, section: PageContext['section']): PageContext => ({
    user: s.user,
    csrf: csrfToken(keys, s),
    section,
    queuesPath: opts.queuesPath,
    canCancel: opts.canCancel === true,
  });

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts.length <= 1 && (parts[0] === undefined || parts[0] === 'ui')) return redirect(res, '/ui/runs');
    const [, what, ...rest] = parts;
    if (what === 'assets' && rest.length === 1 && method === 'GET') return sendAsset(req, res, rest[0] as string);
    if (what === 'login' && rest.length === 0) {
      if (method === 'GET') return sendPage(res, 200, loginPage({ next: safeNext(url.searchParams.get('next')) }));
      if (method === 'POST') return login(req, res);
      throw new PageError(405, 'use GET or POST');
    }
    const s = session(req);
    if (!s) {
      if (method === 'GET') return redirect(res, `/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`);
      throw new PageError(401, 'log in first');
    }
    if (what === 'logout' && rest.length === 0 && method === 'POST') return logout(req, res, s);
    if (method !== 'GET') throw new PageError(405, 'pages are read with GET');
    if (what === 'runs' && rest.length === 0) return gridRoute(res, s, url);
    if (what === 'runs' && rest.length === 1) return runRoute(res, s, rest[0] as string, url);
    if (what === 'runs' && rest.length === 2 && rest[1] === 'files') return fileRoute(res, rest[0] as string, url);
    if (what === 'jobs' && rest.length === 0) return jobsRoute(res, s);
    if (what === 'models' && rest.length === 0) return modelsRoute(res, s);
    throw new PageError(404, 'no such page');
  }

  async function gridRoute(res: ServerResponse, s: Session, url: URL): Promise<void> {
    const jobs = await opts.jobs();
    const job = url.searchParams.get('job') ?? undefined;
    const grid = await loadGrid(opts.client.registry, [...jobs.keys()], { page: Number(url.searchParams.get('page') ?? 1) || 1, job });
    const first = job !== undefined ? jobs.get(job) : [...jobs.values()][0];
    const sched = first?.spec.schedule;
    const date = defaultLogicalDate(new Date(), sched?.timezone ?? 'UTC', sched?.logicalDate ?? 'previous-day');
    sendPage(res, 200, gridPage(context(s, 'runs'), grid, { job }, date));
  }

  async function runRoute(res: ServerResponse, s: Session, runId: string, url: URL): Promise<void> {
    const id = parseRunId(runId);
    if (!id) throw new PageError(400, 'a run id looks like job@YYYY-MM-DD');
    const job = (await opts.jobs()).get(id.job);
    const view = await loadRun(opts.client.registry, opts.stores, job, { runId, ...id }, url.searchParams.get('attempt') ?? undefined);
    if (!view.record && !view.report) throw new PageError(404, `no run ${runId}`);
    sendPage(res, 200, runPage(context(s, 'runs'), view));
  }

  /** An output object of a run, as a download (never rendered by the browser as a page). */
  async function fileRoute(res: ServerResponse, runId: string, url: URL): Promise<void> {
    const id = parseRunId(runId);
    const name = url.searchParams.get('name') ?? '';
    const job = id ? (await opts.jobs()).get(id.job) : undefined;
    if (!id || !job) throw new PageError(404, `no run ${runId}`);
    const view = await loadRun(opts.client.registry, opts.stores, job, { runId, ...id }, undefined);
    if (!linkableFiles(view.report).has(name)) throw new PageError(404, `${name} is not an output of ${runId}`);
    const { ref } = fileRef(opts.stores, job, id.logicalDate, name);
    const info = await ref.store.head(ref.key);
    if (!info) throw new PageError(404, `${name} does not exist (any more)`);
    const stream = await ref.store.read(ref.key);
    const base = name.split('/').pop() ?? 'file';
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'application/octet-stream',
      'content-length': info.size,
      'content-disposition': `attachment; filename="${base.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'cache-control': 'no-store',
    });
    // A read that fails mid-way cuts the download short (the length header tells the client).
    stream.once('error', (err) => {
      opts.log?.warn({ err, name }, 'dashboard download failed');
      res.destroy();
    });
    stream.pipe(res);
    await new Promise<void>((resolve) => res.once('close', resolve));
    stream.destroy();
  }

  async function jobsRoute(res: ServerResponse, s: Session): Promise<void> {
    const jobs = [...(await opts.jobs()).values()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
    const models = opts.registry ? await opts.registry().catch(() => undefined) : undefined;
    sendPage(res, 200, jobsPage(context(s, 'jobs'), await loadJobs(opts.client.registry, jobs, models)));
  }

  async function modelsRoute(res: ServerResponse, s: Session): Promise<void> {
    const models = opts.registry ? await loadModels(await opts.registry()) : undefined;
    sendPage(res, 200, modelsPage(context(s, 'models'), models));
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!sameOrigin(req)) throw new PageError(403, 'login from another site refused');
    const ip = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const f = failures.get(ip);
    if (f && f.until > now && f.count >= LOGIN_FAILURES) {
      res.setHeader('retry-after', String(Math.ceil((f.until - now) / 1000)));
      throw new PageError(429, 'too many failed logins from this address; try again in a few minutes');
    }
    const form = new URLSearchParams((await readForm(req)).toString('utf8'));
    const next = safeNext(form.get('next'));
    if (!sameText(form.get('token') ?? '', opts.token)) {
      failures.set(ip, f && f.until > now ? { count: f.count + 1, until: f.until } : { count: 1, until: now + LOGIN_WINDOW_MS });
      opts.log?.warn({ ip }, 'dashboard login refused: wrong token');
      return sendPage(res, 401, loginPage({ next, error: 'That is not the API token.' }));
    }
    failures.delete(ip);
    const user = (form.get('name') ?? '').trim().slice(0, 100) || 'dashboard';
    const { value } = keys.issue(user);
    res.setHeader('set-cookie', setSessionCookie(req, value));
    opts.log?.info({ user }, 'dashboard login');
    redirect(res, next);
  }

  async function logout(req: IncomingMessage, res: ServerResponse, s: Session): Promise<void> {
    const form = new URLSearchParams((await readForm(req)).toString('utf8'));
    if (!sameOrigin(req) || !csrfTokenMatches(keys, s, form.get('_csrf') ?? undefined)) throw new PageError(403, 'missing or wrong CSRF token');
    res.setHeader('set-cookie', clearSessionCookies(req));
    redirect(res, '/ui/login');
  }

  return {
    owns: (path) => path === '/' || path === '/ui' || path.startsWith('/ui/'),
    async serve(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        await route(req, res, url);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const status = err instanceof PageError ? err.status : err instanceof URIError ? 400 : outcomeOf(err).httpStatus;
        const message = err instanceof PageError ? err.message : err instanceof URIError ? 'malformed percent-encoding in the path' : httpMessage(err);
        if (status >= 500) opts.log?.error({ err, path: url.pathname }, 'dashboard request failed');
        const s = session(req);
        sendPage(res, status, errorPage(s ? context(s, 'error') : { section: 'error' }, status, message));
      }
    },
    authorize(req, res) {
      if (req.headers.authorization !== undefined) return 'none';
      const s = session(req);
      if (!s) return 'none';
      if (!isStateChanging(req.method)) return 'session';
      const given = req.headers[CSRF_HEADER];
      if (sameOrigin(req) && csrfTokenMatches(keys, s, Array.isArray(given) ? given[0] : given)) return 'session';
      const body = JSON.stringify({ error: 'missing or wrong CSRF token (X-CSRF-Token), or a request from another origin' });
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      req.resume();
      return 'refused';
    },
  };
}

/** Where to go after login: only a path of this dashboard (no open redirect). */
function safeNext(next: string | null): string {
  return next !== null && /^\/ui\/[A-Za-z0-9/_@.%?=&-]*$/.test(next) && !next.includes('..') ? next : '/ui/runs';
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

function sendPage(res: ServerResponse, status: number, page: Html): void {
  const body = Buffer.from(page.text, 'utf8');
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}

async function sendAsset(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const p = asset(name);
  if (!p) throw new PageError(404, 'no such file');
  const a = await p;
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, { ...SECURITY_HEADERS, etag: a.etag, 'cache-control': 'no-cache' });
    res.end();
    return;
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': a.type, 'content-length': a.body.length, etag: a.etag, 'cache-control': 'no-cache' });
  res.end(a.body);
}

function readForm(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.setTimeout(5_000, () => reject(new PageError(408, 'request body stalled')));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        req.pause();
        reject(new PageError(413, 'form too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
