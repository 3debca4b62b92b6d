/**
 * A fault-injecting HTTP proxy on loopback, in front of an S3 endpoint (s3rver). Point
 * nightshift's S3 settings at `proxy.endpoint` and add rules: each matching request (by S3
 * operation, optionally by path) gets the rule's fault, `times` times, then passes through.
 *
 * Faults: an S3 error status (503 SlowDown…) without forwarding; a 200 whose body is an
 * <Error> (how CompleteMultipartUpload reports a failure); a response body cut half-way (headers
 * and part of the body, then the socket is destroyed); a body that stalls half-way (then
 * nothing, socket left open); a body held half-way until the test releases it. The proxy counts requests per operation and its open sockets, so a
 * test can see that a fault really happened and that no connection was leaked.
 *
 * It also gives s3rver the conditional writes S3 has (If-Match / If-None-Match on PutObject and
 * CompleteMultipartUpload, see conditional-writes.ts), so code that relies on them is tested.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { conditionalWrites } from './conditional-writes.js';

export type S3Operation =
  | 'ListObjectsV2'
  | 'HeadObject'
  | 'GetObject'
  | 'PutObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'DeleteObject'
  | 'Other';

/** The S3 operation of a path-style request, from its method and query. */
export function s3Operation(method: string, url: string): S3Operation {
  const u = new URL(url, 'http://proxy');
  const q = u.searchParams;
  const objectPath = u.pathname.split('/').filter(Boolean).length >= 2;
  switch (method) {
    case 'GET':
      if (!objectPath) return q.get('list-type') === '2' ? 'ListObjectsV2' : 'Other';
      return q.has('uploadId') || q.has('uploads') || q.has('acl') || q.has('tagging') ? 'Other' : 'GetObject';
    case 'HEAD':
      return objectPath ? 'HeadObject' : 'Other';
    case 'PUT':
      if (!objectPath) return 'Other';
      if (q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
      return q.has('tagging') || q.has('acl') ? 'Other' : 'PutObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      return 'Other';
    case 'DELETE':
      if (!objectPath) return 'Other';
      return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Other';
  }
}

export type Fault =
  /** Answer with this status and an S3 <Error> body; the request never reaches the server. */
  | { readonly type: 'status'; readonly status: number; readonly code: string }
  /** Answer 200 with an <Error> body; the request never reaches the server. */
  | { readonly type: 'error-200'; readonly code: string }
  /** Forward; send the headers and `fraction` of the body, then destroy the socket. */
  | { readonly type: 'cut-body'; readonly fraction: number }
  /** Forward; send the headers and `fraction` of the body, then nothing (the socket stays open). */
  | { readonly type: 'stall-body'; readonly fraction: number }
  /** Forward; send the headers and `fraction` of the body, the rest once `until` resolves. */
  | { readonly type: 'hold-body'; readonly fraction: number; readonly until: Promise<void> };

export interface FaultRule {
  readonly operation: S3Operation;
  /** Only requests whose path (URL-decoded, without the query) matches. */
  readonly path?: RegExp;
  readonly fault: Fault;
  /** How many matching requests get the fault; default 1, Infinity for all. */
  readonly times?: number;
  /** How many matching requests pass untouched before the fault applies (default 0). */
  readonly skip?: number;
}

export interface ActiveRule {
  readonly rule: FaultRule;
  /** Requests that got the fault so far. */
  readonly hits: number;
  /** Stop applying the rule. */
  remove(): void;
}

export interface FaultProxy {
  /** http://127.0.0.1:<port>, to use as the S3 endpoint. */
  readonly endpoint: string;
  addRule(rule: FaultRule): ActiveRule;
  clearRules(): void;
  /** Requests received per operation (faulted or not). */
  count(operation: S3Operation): number;
  /** Client connections currently open to the proxy. */
  openSockets(): number;
  /** Responses the proxy has started and not yet finished or had closed under it. */
  openResponses(operation?: S3Operation): number;
  /** Conditional writes refused (412/404) and passed by the proxy's conditional-write layer. */
  conditionalWrites(): { refused: number; passed: number };
  close(): Promise<void>;
}

interface RuleState {
  readonly rule: FaultRule;
  hits: number;
  skipped: number;
  removed: boolean;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  // One connection per forwarded request: the proxy's own pooling must not hide the client's.
  const agent = new http.Agent({ keepAlive: false });
  const rules: RuleState[] = [];
  const counts = new Map<S3Operation, number>();
  const sockets = new Set<Socket>();
  const open = new Map<ServerResponse, S3Operation>();
  const conditions = conditionalWrites(upstream, agent);

  const server = http.createServer((req, res) => {
    const op = s3Operation(req.method ?? 'GET', req.url ?? '/');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    open.set(res, op);
    res.once('close', () => open.delete(res));
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://proxy').pathname);
    let state = rules.find((r) => !r.removed && r.rule.operation === op && (r.rule.path?.test(path) ?? true) && r.hits < (r.rule.times ?? 1));
    if (state && state.skipped < (state.rule.skip ?? 0)) {
      state.skipped++;
      state = undefined;
    }
    if (state) state.hits++;
    const fault = state?.rule.fault;
    if (fault?.type === 'status' || fault?.type === 'error-200') {
      // Read the whole request first, as a server would, so the client sees an answer and not a
      // reset while it is still sending a part.
      req.resume();
      req.once('end', () => answerError(res, fault.type === 'status' ? fault.status : 200, fault.code));
      return;
    }
    conditions.handle(
      req,
      op,
      () => forward(req, res, fault),
      (status, code) => answerError(res, status, code),
    );
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  /** Resolves when the answer to the client is over (sent, cut or abandoned). */
  function forward(req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): Promise<void> {
    // Upstream has applied the request once its answer is over, even if the client's stalls.
    let finished = (): void => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    res.once('close', finished);
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      upRes.once('close', finished);
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (fault?.type === 'hold-body') {
        holdBody(upRes, res, Math.floor(Number(upRes.headers['content-length'] ?? 0) * fault.fraction), fault.until);
        return;
      }
      if (fault?.type !== 'cut-body' && fault?.type !== 'stall-body') {
        upRes.pipe(res);
        return;
      }
      const total = Number(upRes.headers['content-length'] ?? 0);
      let budget = Math.floor(total * fault.fraction);
      const stop = (): void => {
        upRes.destroy();
        // Cut: the client sees the connection drop mid-body. Stall: it sees nothing more.
        if (fault.type === 'cut-body') res.socket?.destroy();
      };
      upRes.on('data', (chunk: Buffer) => {
        if (budget <= 0) return;
        const piece = chunk.length <= budget ? chunk : chunk.subarray(0, budget);
        budget -= piece.length;
        if (budget > 0) {
          res.write(piece);
          return;
        }
        upRes.pause();
        res.write(piece, stop);
      });
      if (budget <= 0) {
        res.flushHeaders();
        stop();
      }
    });
    up.on('error', (err) => {
      finished();
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    // A client that gives up (idle timeout) must not leave the upstream request behind.
    res.once('close', () => up.destroy());
    req.pipe(up);
    return done;
  }

  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    addRule(rule) {
      const state: RuleState = { rule, hits: 0, skipped: 0, removed: false };
      rules.push(state);
      return {
        rule,
        get hits() {
          return state.hits;
        },
        remove: () => void (state.removed = true),
      };
    },
    clearRules() {
      for (const r of rules) r.removed = true;
      rules.length = 0;
    },
    count: (op) => counts.get(op) ?? 0,
    openSockets: () => sockets.size,
    openResponses: (op) => [...open.values()].filter((o) => op === undefined || o === op).length,
    conditionalWrites: () => ({ refused: conditions.refused, passed: conditions.passed }),
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `budget` bytes of the upstream body, then the rest once `until` resolves (unless the client left). */
function holdBody(upRes: IncomingMessage, res: ServerResponse, budget: number, until: Promise<void>): void {
  let left = budget;
  const onData = (chunk: Buffer): void => {
    if (chunk.length <= left) {
      left -= chunk.length;
      res.write(chunk);
      return;
    }
    res.write(chunk.subarray(0, left));
    const rest = chunk.subarray(left);
    left = 0;
    upRes.pause();
    upRes.off('data', onData);
    void until.then(() => {
      if (res.destroyed) return;
      res.write(rest);
      upRes.pipe(res);
    });
  };
  upRes.on('data', onData);
}

function answerError(res: ServerResponse, status: number, code: string): void {
  // No trailing newline: the SDK recognises a 200-with-error by the body ending in </Error>.
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message><RequestId>fault-proxy</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
