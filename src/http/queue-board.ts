/**
 * Bull Board (the BullMQ ecosystem's queue UI) for `nightshift serve`, under /admin/queues.
 *
 * Bull Board's published adapters each need a web framework (express, fastify, koa, hono…);
 * `serve` is a plain node:http server, so this is an adapter of its own (IServerAdapter from
 * @bull-board/api): it matches Bull Board's API routes, serves the UI's static files from
 * @bull-board/ui and fills the UI's one page template (five placeholders, checked at start-up,
 * so no template engine is needed). Auth is the caller's (server.ts): the same token as every
 * route. Read-only unless NIGHTSHIFT_BOARD_READ_ONLY=false: retrying, cleaning or removing jobs
 * by hand can leave a run waiting on a job that no longer exists (`nightshift cancel` frees it).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type * as BullBoardApi from '@bull-board/api';
import type { AppControllerRoute, AppViewRoute, BullBoardQueues, ControllerHandlerReturnType, IServerAdapter, UIConfig } from '@bull-board/api/typings/app';
import { requireCommonJs } from '../core/commonjs.js';
import { Queue, type Redis } from '../queue/bullmq.js';
import { RUNS_QUEUE, SHARDS_QUEUE } from '../queue/names.js';

export const BOARD_PATH = '/admin/queues';

const MAX_BODY_BYTES = 64 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

interface Route {
  readonly method: AppViewRoute['method'];
  readonly segments: readonly string[];
  readonly handler: AppControllerRoute['handler'];
}

/** What the one page template may contain: these placeholders and nothing else of EJS. */
const PLACEHOLDERS = ['<%= basePath %>', '<%= title %>', '<%= favIconDefault %>', '<%= favIconAlternative %>', '<%- uiConfig %>'] as const;

class NodeHttpBoardAdapter implements IServerAdapter {
  private queues: BullBoardQueues | undefined;
  private staticRoute = '/static';
  private staticDir = '';
  private viewsDir = '';
  private entry: AppViewRoute | undefined;
  private errorHandler: ((error: Error) => ControllerHandlerReturnType) | undefined;
  private uiConfig: UIConfig = {};
  private readonly routes: Route[] = [];
  private template: string | undefined;

  constructor(private readonly basePath: string) {}

  setQueues(queues: BullBoardQueues): this {
    this.queues = queues;
    return this;
  }
  setViewsPath(dir: string): this {
    this.viewsDir = dir;
    return this;
  }
  setStaticPath(route: string, dir: string): this {
    this.staticRoute = route;
    this.staticDir = dir;
    return this;
  }
  setEntryRoute(route: AppViewRoute): this {
    this.entry = route;
    return this;
  }
  setErrorHandler(handler: (error: Error) => ControllerHandlerReturnType): this {
    this.errorHandler = handler;
    return this;
  }
  setUIConfig(config: UIConfig): this {
    this.uiConfig = config;
    return this;
  }
  setApiRoutes(routes: readonly AppControllerRoute[]): this {
    for (const r of routes) {
      for (const method of [r.method].flat()) {
        for (const route of [r.route].flat()) this.routes.push({ method, segments: split(route), handler: (request) => r.handler(request) });
      }
    }
    return this;
  }

  /** Reads the page template once and checks it is the one this adapter knows how to fill. */
  async load(): Promise<void> {
    const text = await readFile(path.join(this.viewsDir, 'index.ejs'), 'utf8');
    const unknown = text.replace(/<%[=-] (basePath|title|favIconDefault|favIconAlternative|uiConfig) %>/g, '').match(/<%.*?%>/);
    if (unknown)
      throw new Error(`@bull-board/ui's index.ejs has a tag this adapter cannot fill (${unknown[0]}): pin @bull-board/ui to the version in package.json`);
    this.template = text;
  }

  /** Answers a request whose path is under the board (`sub` is the rest of the path, starting with /). */
  async handle(req: IncomingMessage, res: ServerResponse, sub: string, query: URLSearchParams, readOnly: boolean): Promise<void> {
    const method = (req.method ?? 'GET').toLowerCase();
    if (sub.startsWith(`${this.staticRoute}/`)) return this.serveStatic(res, safeDecode(sub.slice(this.staticRoute.length + 1)));
    let parts: string[];
    try {
      parts = split(sub).map(decodeURIComponent);
    } catch {
      return sendJson(res, 400, { error: 'malformed percent-encoding in the path' });
    }
    if (parts[0] === 'api') {
      if (readOnly && method !== 'get') return sendJson(res, 405, { error: 'the queue board is read-only (NIGHTSHIFT_BOARD_READ_ONLY=false allows changes)' });
      for (const r of this.routes) {
        const params = r.method === method ? matchRoute(r.segments, parts) : undefined;
        if (params) return this.callApi(r, req, res, params, query);
      }
      return sendJson(res, 404, { error: 'no such board route' });
    }
    if (method !== 'get' || !this.entry || !this.template) return sendJson(res, 404, { error: 'no such board route' });
    // Every UI path (/, /queue/:name, /queue/:name/:job…) is the same page; the UI routes itself.
    const view = this.entry.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
    const html = fill(this.template, view.params);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
    res.end(html);
  }

  private async callApi(route: Route, req: IncomingMessage, res: ServerResponse, params: Record<string, string>, query: URLSearchParams): Promise<void> {
    if (!this.queues) throw new Error('queue board: setQueues was never called');
    let body: Record<string, unknown> = {};
    if (route.method !== 'get') {
      const raw = await readBody(req);
      // The UI sends no body with most actions.
      if (raw.length > 0) body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    }
    let out: ControllerHandlerReturnType;
    try {
      out = await route.handler({
        queues: this.queues,
        uiConfig: this.uiConfig,
        params,
        query: Object.fromEntries(query),
        body,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
      });
    } catch (err) {
      if (!this.errorHandler || !(err instanceof Error)) throw err;
      out = this.errorHandler(err);
    }
    const status = out.status ?? 200;
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    if (typeof out.body === 'string') {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(out.body);
      return;
    }
    sendJson(res, status, out.body);
  }

  private async serveStatic(res: ServerResponse, rel: string): Promise<void> {
    const file = path.resolve(this.staticDir, rel);
    // No way out of the UI's static folder (../, encoded or not: the path is decoded already).
    if (!file.startsWith(this.staticDir + path.sep)) return sendJson(res, 404, { error: 'not found' });
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return sendJson(res, 404, { error: 'not found' });
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': bytes.length,
      'cache-control': 'public, max-age=86400',
    });
    res.end(bytes);
  }
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return '\0'; // no such file
  }
}

function split(p: string): string[] {
  return p.split('/').filter(Boolean);
}

function matchRoute(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, seg] of pattern.entries()) {
    const part = parts[i] as string;
    if (seg.startsWith(':')) params[seg.slice(1)] = part;
    else if (seg !== part) return undefined;
  }
  return params;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fill(template: string, params: Record<string, string>): string {
  let html = template;
  for (const tag of PLACEHOLDERS) {
    const name = tag.slice(4, -3);
    const value = params[name] ?? '';
    // <%- is raw: uiConfig is JSON with < and > already escaped by Bull Board's entry handler.
    html = html.replace(tag, () => (tag.startsWith('<%-') ? value : escapeHtml(value)));
  }
  return html;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('queue board: body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface QueueBoard {
  handle(req: IncomingMessage, res: ServerResponse, sub: string, query: URLSearchParams): Promise<void>;
  close(): Promise<void>;
}

/** The board over nightshift's two queues, on the given connection and key prefix. */
export async function createQueueBoard(connection: Redis, prefix: string, options: { readOnly: boolean }): Promise<QueueBoard> {
  // CommonJS packages, loaded with require() like bullmq (core/commonjs.ts), and only by serve.
  const { createBullBoard } = requireCommonJs('@bull-board/api') as typeof BullBoardApi;
  const { BullMQAdapter } = requireCommonJs('@bull-board/api/bullMQAdapter') as typeof import('@bull-board/api/bullMQAdapter');
  const queues = [RUNS_QUEUE, SHARDS_QUEUE].map((name) => {
    const q = new Queue(name, { connection, prefix });
    q.on('error', () => undefined); // the connection's errors are logged once by serve
    return q;
  });
  const adapter = new NodeHttpBoardAdapter(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: options.readOnly })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'nightshift queues' } },
  });
  await adapter.load();
  return {
    handle: (req, res, sub, query) => adapter.handle(req, res, sub, query, options.readOnly),
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
