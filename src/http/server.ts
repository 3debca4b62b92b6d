/**
 * The HTTP trigger: POST /jobs/:name/runs, GET /runs, GET /runs/:id, POST /runs/:id/cancel
 * (and approve/reject). Every route needs the
 * bearer token; bodies are size-limited and validated; errors are JSON without internals.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { ModelError } from '../core/errors.js';
import { httpMessage, outcomeOf } from '../core/outcomes.js';
import type { QueueClient } from '../queue/queue-client.js';
import { recordDecision } from '../queue/run-registry.js';
import { approveRun, rejectRun } from '../run/held-runs.js';
import { Stores } from '../storage/stores.js';
import { describeTrigger, triggerRun } from '../queue/trigger.js';
import { cancelRun } from '../queue/cancel-run.js';
import { ATTEMPT_PATTERN } from '../run/output-layout.js';
import { resolveRun } from '../run/run-plan.js';
import { defaultLogicalDate, logicalDateSchema, parseRunId } from '../run/run-identity.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { basicMatches, bearerMatches } from './auth.js';
import { BOARD_PATH, type QueueBoard } from './queue-board.js';
import { MAX_MODEL_BYTES, MODEL_ROUTES, type ModelRoute } from './model-routes.js';
import { handleHealth, type ReadinessCheck } from './health.js';
import { serveMetrics } from './ops-server.js';
import type { Logger } from '../core/logger.js';
import type { DashboardHandler } from '../dashboard/dashboard.js';

export const MAX_BODY_BYTES = 16 * 1024;

const triggerBody = z.strictObject({
  date: logicalDateSchema.optional(),
  rerun: z.boolean().optional(),
  /** A registered version for this run only (name@version or name@alias). */
  model: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9._-]{0,62}$/, 'expected name@version or name@alias')
    .optional(),
});
const decisionBody = z.strictObject({ reason: z.string().max(2000).optional(), by: z.string().min(1).max(200).optional() });
const cancelBody = decisionBody.extend({ attempt: z.string().regex(ATTEMPT_PATTERN, 'expected an attempt name such as a2-1f3c').optional() });

export interface ServerTimeouts {
  /** The request line and headers must arrive within this (Node's headersTimeout). */
  readonly headersMs: number;
  /** A request body that sends nothing for this long is answered 408 and its connection closed. */
  readonly bodyIdleMs: number;
  /** The whole request, headers and body, must arrive within this (Node's requestTimeout). */
  readonly requestMs: number;
}

/** Short, because every request nightshift takes is small: a slow client only holds a socket. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = { headersMs: 5_000, bodyIdleMs: 5_000, requestMs: 15_000 };

export interface ServerOptions {
  readonly token: string;
  readonly client: QueueClient;
  /** Current job specs by name (reloaded by the caller if it wants). */
  readonly jobs: () => Promise<Map<string, LoadedJob>>;
  readonly timeouts?: Partial<ServerTimeouts>;
  /** The model registry for /models routes (opened once by the caller); without it they answer 404. */
  readonly registry?: () => Promise<ModelRegistry>;
  /** Where held runs are approved or rejected (default: one Stores from the environment). */
  readonly stores?: Stores;
  /** Access and error lines; none when left out. */
  readonly log?: Logger;
  /** /readyz checks (default: none, always ready). */
  readonly checks?: Readonly<Record<string, ReadinessCheck>>;
  /** The dashboard (pages at / and /ui/; a logged-in browser's session may call the API); none when left out. */
  readonly dashboard?: DashboardHandler;
  /** Bull Board, mounted under /admin/queues (queue-board.ts); without it that path is a 404. */
  readonly board?: QueueBoard;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createApiServer(opts: ServerOptions): Server {
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const server = createServer(
    // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by
    // default): check each second so the timeouts mean what they say.
    { headersTimeout: t.headersMs, requestTimeout: Math.max(t.requestMs, t.headersMs), connectionsCheckingInterval: 1_000 },
    (req, res) => {
      const started = performance.now();
      // The route pattern, not the path: run ids and job names stay out of the access log's keys.
      res.once('finish', () =>
        opts.log?.info(
          { method: req.method, route: routeNames.get(res) ?? 'unmatched', status: res.statusCode, ms: Math.round(performance.now() - started) },
          'http',
        ),
      );
      handle({ ...opts, bodyIdleMs: t.bodyIdleMs }, req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
          send(res, err.status, { error: err.message, ...(err.details ? { details: err.details } : {}) });
        } else if (isRedisDown(err)) {
          opts.log?.warn({ err, route: routeNames.get(res) }, 'request failed: Redis unavailable');
          res.setHeader('Retry-After', '5');
          send(res, 503, { error: 'Redis is unavailable; try again shortly' });
        } else {
          const outcome = outcomeOf(err);
          if (outcome.httpStatus >= 500) opts.log?.error({ err, route: routeNames.get(res) }, 'request failed');
          send(res, outcome.httpStatus, { error: httpMessage(err) });
        }
      });
    },
  );
  // Between requests on a kept-alive connection.
  server.keepAliveTimeout = t.bodyIdleMs;
  return server;
}

type Handler = (opts: HandlerOptions, req: IncomingMessage, res: ServerResponse, params: readonly string[], url: URL) => Promise<void>;
type HandlerOptions = ServerOptions & { readonly bodyIdleMs: number };

/** Routes by path shape; a known path with another method is a 405 with Allow, not a 404. */
const ROUTES: readonly { readonly path: readonly (string | null)[]; readonly methods: Readonly<Record<string, Handler>> }[] = [
  { path: ['jobs', null, 'runs'], methods: { POST: (o, req, res, [name]) => triggerRoute(o, name as string, req, res) } },
  { path: ['runs'], methods: { GET: listRoute } },
  { path: ['runs', null], methods: { GET: (o, _req, res, [runId], url) => runRoute(o, runId as string, res, url) } },
  { path: ['runs', null, 'approve'], methods: { POST: (o, req, res, [runId]) => decisionRoute(o, runId as string, 'approve', req, res) } },
  { path: ['runs', null, 'cancel'], methods: { POST: (o, req, res, [runId]) => cancelRoute(o, runId as string, req, res) } },
  { path: ['runs', null, 'reject'], methods: { POST: (o, req, res, [runId]) => decisionRoute(o, runId as string, 'reject', req, res) } },
  ...modelRoutes(MODEL_ROUTES),
];

/** Whether the API has a route (`:name` marks a parameter): the dashboard shows a button only when its route exists. */
export function apiHasRoute(method: string, path: readonly string[]): boolean {
  return ROUTES.some(
    (r) => r.path.length === path.length && r.path.every((p, i) => (p === null ? path[i]?.startsWith(':') : p === path[i])) && Object.hasOwn(r.methods, method),
  );
}

/** The registry's routes, grouped by path, with their bodies read and their errors mapped here. */
function modelRoutes(routes: readonly ModelRoute[]): { path: readonly (string | null)[]; methods: Record<string, Handler> }[] {
  const byPath = new Map<string, { path: readonly (string | null)[]; methods: Record<string, Handler> }>();
  for (const r of routes) {
    const key = JSON.stringify(r.path);
    const entry = byPath.get(key) ?? { path: r.path, methods: {} };
    entry.methods[r.method] = async (o, req, res, params, url) => {
      if (!o.registry) throw new HttpError(404, 'no model registry configured (start serve with --registry or NIGHTSHIFT_REGISTRY)');
      try {
        let body: unknown;
        if (r.body === 'bytes') body = await readBytes(req, o.bodyIdleMs, MAX_MODEL_BYTES);
        else if (r.body === 'json') body = parseJson((await readBytes(req, o.bodyIdleMs, MAX_BODY_BYTES)).toString('utf8'));
        const out = await r.run({ registry: await o.registry(), params, url, body });
        send(res, out.status, out.body);
      } catch (err) {
        // Here a model that cannot be used is the uploaded file: the client's to fix.
        if (err instanceof ModelError) throw new HttpError(400, err.message);
        throw err;
      }
    };
    byPath.set(key, entry);
  }
  return [...byPath.values()];
}

function parseJson(raw: string): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

/** The route pattern a response answered, for the access log. */
const routeNames = new WeakMap<ServerResponse, string>();

/** ioredis refusing a command because the connection is down (offline queue off) or gave up retrying. */
function isRedisDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|LOADING/.test(err.message);
}

async function handle(opts: HandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/readyz') routeNames.set(res, path);
  // Probes answer without the token: they say only up or down, and why.
  if (await handleHealth(req, res, opts.checks ?? {})) return;
  if (opts.dashboard?.owns(path ?? '/')) {
    routeNames.set(res, '/ui');
    return opts.dashboard.serve(req, res);
  }
  const onBoard = path === BOARD_PATH || path?.startsWith(`${BOARD_PATH}/`) === true;
  // A logged-in dashboard session (CSRF-checked when it changes state) stands in for the token.
  const via = opts.dashboard?.authorize(req, res) ?? 'none';
  if (via === 'refused') return;
  // The board is opened in a browser: HTTP Basic with the token as password works there too.
  if (via !== 'session' && !bearerMatches(req.headers.authorization, opts.token) && !(onBoard && basicMatches(req.headers.authorization, opts.token))) {
    res.setHeader('WWW-Authenticate', onBoard ? 'Basic realm="nightshift", charset="UTF-8"' : 'Bearer');
    throw new HttpError(
      401,
      onBoard ? 'the queue board needs the API token (as the password of HTTP Basic, or a bearer token)' : 'missing or wrong bearer token',
    );
  }
  if (onBoard && opts.board) {
    routeNames.set(res, BOARD_PATH);
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The UI's links are relative to /admin/queues/: send the bare path there.
    if (path === BOARD_PATH) {
      res.writeHead(308, { location: `${BOARD_PATH}/${url.search}` }).end();
      return;
    }
    return opts.board.handle(req, res, (path ?? '').slice(BOARD_PATH.length), url.searchParams);
  }
  if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
    routeNames.set(res, '/metrics');
    return serveMetrics(res, opts.log);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  let parts: string[];
  try {
    parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
  const route = ROUTES.find((r) => r.path.length === parts.length && r.path.every((p, i) => p === null || p === parts[i]));
  if (!route) throw new HttpError(404, 'no such route');
  routeNames.set(res, `/${route.path.map((p) => p ?? ':param').join('/')}`);
  // HEAD is GET without a body (Node drops the body of a HEAD response).
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
  const handler = route.methods[method];
  if (!handler) {
    const allow = Object.keys(route.methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    throw new HttpError(405, `method ${req.method ?? '?'} not allowed here`, undefined, { Allow: allow.join(', ') });
  }
  const params = route.path.flatMap((p, i) => (p === null ? [parts[i] as string] : []));
  return handler(opts, req, res, params, url);
}

async function listRoute(opts: HandlerOptions, _req: IncomingMessage, res: ServerResponse, _params: readonly string[], url: URL): Promise<void> {
  const limit = Math.min(200, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
  return send(res, 200, { runs: await opts.client.registry.list(limit, url.searchParams.get('job') ?? undefined) });
}

async function runRoute(opts: HandlerOptions, runId: string, res: ServerResponse, url: URL): Promise<void> {
  if (!parseRunId(runId)) throw new HttpError(400, 'run id must look like job@YYYY-MM-DD');
  const rec = await opts.client.registry.get(runId, url.searchParams.get('attempt') ?? undefined);
  if (!rec) throw new HttpError(404, `no run ${runId}`);
  return send(res, 200, rec);
}

/** POST /runs/:id/approve|reject: the CLI's approve/reject, recorded as "<by> (HTTP)". */
async function decisionRoute(opts: HandlerOptions, runId: string, what: 'approve' | 'reject', req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = parseRunId(runId);
  if (!id) throw new HttpError(400, 'run id must look like job@YYYY-MM-DD');
  const body = await readJsonBody(opts, req, decisionBody);
  const job = (await opts.jobs()).get(id.job);
  if (!job) throw new HttpError(404, `no job named "${id.job}"`);
  const ref = { spec: job.spec, baseDir: job.baseDir, stores: opts.stores ?? defaultStores(), logicalDate: id.logicalDate };
  const d = { by: `${body.by ?? 'anonymous'} (HTTP)`, reason: body.reason };
  // A run that is not held answers 409 (RunStateError in the outcome table).
  const report = what === 'approve' ? await approveRun(ref, d) : await rejectRun(ref, d);
  await recordDecision(opts.client.registry, report);
  send(res, 200, { runId: report.runId, attempt: report.attempt, status: report.status, approval: report.approval });
}

/**
 * POST /runs/:id/cancel {by?, reason?, attempt?}: `nightshift cancel`, recorded as "<by> (HTTP)".
 * 200 cancelled; 404 no such run; 409 it has ended or is publishing (RunStateError).
 */
async function cancelRoute(opts: HandlerOptions, runId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = parseRunId(runId);
  if (!id) throw new HttpError(400, 'run id must look like job@YYYY-MM-DD');
  const body = await readJsonBody(opts, req, cancelBody);
  // The job's spec names the output; without it (spec removed) the attempt's finalize step still removes its files.
  const job = (await opts.jobs()).get(id.job);
  const output = job ? (opts.stores ?? defaultStores()).resolve(resolveRun(job, id.logicalDate).output) : undefined;
  const r = await cancelRun({ runs: opts.client.runs, registry: opts.client.registry, ...(output ? { output } : {}) }, runId, {
    by: `${body.by ?? 'anonymous'} (HTTP)`,
    ...(body.reason ? { reason: body.reason } : {}),
    ...(body.attempt ? { attempt: body.attempt } : {}),
  });
  if (!r) throw new HttpError(404, `no run ${runId}${body.attempt ? ` attempt ${body.attempt}` : ''}`);
  send(res, 200, { runId: r.runId, attempt: r.attempt, status: 'cancelled', previous: r.previous, removedJobs: r.removedJobs, message: r.message });
}

/** A route's JSON body, read (size- and idle-limited) and parsed by its schema; 400 saying what is wrong. */
async function readJsonBody<S extends z.ZodType>(opts: HandlerOptions, req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const body = schema.safeParse(parseJson((await readBytes(req, opts.bodyIdleMs, MAX_BODY_BYTES)).toString('utf8')));
  if (!body.success)
    throw new HttpError(
      400,
      'invalid body',
      body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    );
  return body.data;
}

let sharedStores: Stores | undefined;
function defaultStores(): Stores {
  return (sharedStores ??= new Stores());
}

async function triggerRoute(opts: HandlerOptions, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody(opts, req, triggerBody);
  const jobs = await opts.jobs();
  const job = jobs.get(name);
  if (!job) throw new HttpError(404, `no job named "${name}"`);
  const s = job.spec.schedule;
  const date = body.date ?? defaultLogicalDate(new Date(), s?.timezone ?? 'UTC', s?.logicalDate ?? 'previous-day');
  const r = await triggerRun(opts.client.runs, opts.client.registry, job, date, {
    rerun: body.rerun === true,
    trigger: 'http',
    ...(body.model ? { model: body.model } : {}),
  });
  send(res, r.created ? 202 : 200, {
    runId: r.runId,
    attempt: r.attempt,
    created: r.created,
    status: r.record?.status ?? 'queued',
    // A rerun while an attempt is active waits for it (never runs beside it): say so.
    ...(r.waitsFor ? { waitsFor: r.waitsFor } : {}),
    ...(r.supersedes ? { supersedes: r.supersedes } : {}),
    message: describeTrigger(r),
  });
}

/**
 * The body, at most `max` bytes. Too large (declared or chunked): 413, and the connection is
 * closed after the answer, since the rest of the body is not read. A body that stalls for
 * `idleMs`: 408, connection closed.
 */
function readBytes(req: IncomingMessage, idleMs: number, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const fail = (err: HttpError): void => {
      req.removeAllListeners('data');
      req.socket.setTimeout(0);
      // Unread request bytes would be parsed as the next request: close after answering.
      err.headers.Connection = 'close';
      req.pause();
      reject(err);
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return fail(new HttpError(413, `body larger than ${max} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    // On the request, not the socket: the server destroys a socket whose timeout nobody handles,
    // before the 408 could be sent.
    req.setTimeout(idleMs, () => fail(new HttpError(408, `request body stalled for ${idleMs} ms`)));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) fail(new HttpError(413, `body larger than ${max} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => {
      req.socket.setTimeout(0);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
