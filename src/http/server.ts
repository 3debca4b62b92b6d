/**
 * The HTTP trigger: POST /jobs/:name/runs, GET /runs, GET /runs/:id. Every route needs the
 * bearer token; bodies are size-limited and validated; errors are JSON without internals.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { JobSpecError } from '../core/errors.js';
import type { QueueClient } from '../cli/queue-client.js';
import { triggerRun } from '../queue/trigger.js';
import { defaultLogicalDate, logicalDateSchema, parseRunId } from '../run/run-identity.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { bearerMatches } from './auth.js';

export const MAX_BODY_BYTES = 16 * 1024;

const triggerBody = z.strictObject({ date: logicalDateSchema.optional(), rerun: z.boolean().optional() });

export interface ServerOptions {
  readonly token: string;
  readonly client: QueueClient;
  /** Current job specs by name (reloaded by the caller if it wants). */
  readonly jobs: () => Promise<Map<string, LoadedJob>>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details?: unknown) {
    super(message);
  }
}

export function createApiServer(opts: ServerOptions): Server {
  return createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, { error: err.message, ...(err.details ? { details: err.details } : {}) });
      else send(res, 500, { error: 'internal error' });
    });
  });
}

async function handle(opts: ServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!bearerMatches(req.headers.authorization, opts.token)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw new HttpError(401, 'missing or wrong bearer token');
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (req.method === 'POST' && parts.length === 3 && parts[0] === 'jobs' && parts[2] === 'runs') {
    return triggerRoute(opts, parts[1] as string, req, res);
  }
  if (req.method === 'GET' && parts.length === 1 && parts[0] === 'runs') {
    const limit = Math.min(200, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
    return send(res, 200, { runs: await opts.client.registry.list(limit, url.searchParams.get('job') ?? undefined) });
  }
  if (req.method === 'GET' && parts.length === 2 && parts[0] === 'runs') {
    const runId = parts[1] as string;
    if (!parseRunId(runId)) throw new HttpError(400, 'run id must look like job@YYYY-MM-DD');
    const rec = await opts.client.registry.get(runId, url.searchParams.get('attempt') ?? undefined);
    if (!rec) throw new HttpError(404, `no run ${runId}`);
    return send(res, 200, rec);
  }
  throw new HttpError(404, 'no such route');
}

async function triggerRoute(opts: ServerOptions, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  let json: unknown = {};
  if (raw.length > 0) {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
  }
  const body = triggerBody.safeParse(json);
  if (!body.success) throw new HttpError(400, 'invalid body', body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`));
  let jobs: Map<string, LoadedJob>;
  try {
    jobs = await opts.jobs();
  } catch (err) {
    if (err instanceof JobSpecError) throw new HttpError(500, 'job specs cannot be loaded');
    throw err;
  }
  const job = jobs.get(name);
  if (!job) throw new HttpError(404, `no job named "${name}"`);
  const s = job.spec.schedule;
  const date = body.data.date ?? defaultLogicalDate(new Date(), s?.timezone ?? 'UTC', s?.logicalDate ?? 'previous-day');
  const r = await triggerRun(opts.client.runs, opts.client.registry, job, date, { rerun: body.data.rerun === true, trigger: 'http' });
  send(res, r.created ? 202 : 200, { runId: r.runId, attempt: r.attempt, created: r.created, status: r.record?.status ?? 'queued' });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
