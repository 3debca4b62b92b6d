/**
 * Conditional writes for an S3 endpoint that lacks them (s3rver ignores If-Match and
 * If-None-Match on PUT): the fault proxy passes every object-changing request through this gate,
 * which serialises them per key and, for a PutObject or CompleteMultipartUpload that carries a
 * condition, checks it against the object behind the proxy (a HEAD upstream) before forwarding.
 * A failed condition is answered as S3 does: 412 PreconditionFailed, or 404 NoSuchKey for
 * If-Match on a missing object. Holding the key's turn until the upstream answer has been sent
 * makes check-then-write atomic, as it is on S3.
 */
import http, { type IncomingMessage } from 'node:http';
import type { S3Operation } from './fault-proxy.js';

export interface ConditionalWrites {
  /**
   * Runs `forward` in the request's turn for its key when the request changes an object;
   * answers `reject` (status, code) instead when its condition fails. `forward` resolves when
   * the upstream answer is complete.
   */
  handle(req: IncomingMessage, op: S3Operation, forward: () => Promise<void>, reject: (status: number, code: string) => void): void;
  /** Conditional writes refused so far (412 or 404), per operation. */
  readonly refused: number;
  /** Conditional writes checked and forwarded so far. */
  readonly passed: number;
}

const CHANGES: ReadonlySet<S3Operation> = new Set(['PutObject', 'CompleteMultipartUpload', 'DeleteObject']);

export function conditionalWrites(upstream: URL, agent: http.Agent): ConditionalWrites {
  const turns = new Map<string, Promise<void>>();
  let refused = 0;
  let passed = 0;

  function inTurn(key: string, fn: () => Promise<void>): void {
    const prev = turns.get(key) ?? Promise.resolve();
    const next = prev.then(fn).catch(() => undefined);
    turns.set(key, next);
    void next.then(() => {
      if (turns.get(key) === next) turns.delete(key);
    });
  }

  /** The current ETag of the object at a path-style URL path, or undefined if there is none. */
  function currentEtag(path: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      // Unsigned: s3rver serves anonymous requests, and the client's signature is for its PUT.
      const head = http.request({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path, agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200 ? String(res.headers.etag ?? '') : undefined));
      });
      head.once('error', reject);
      head.end();
    });
  }

  return {
    handle(req, op, forward, reject) {
      if (!CHANGES.has(op)) {
        void forward();
        return;
      }
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      const ifMatch = header(req, 'if-match');
      const ifNoneMatch = header(req, 'if-none-match');
      const conditional = (op === 'PutObject' || op === 'CompleteMultipartUpload') && (ifMatch !== undefined || ifNoneMatch !== undefined);
      inTurn(decodeURIComponent(path), async () => {
        if (conditional) {
          const etag = await currentEtag(path);
          const failure =
            ifNoneMatch !== undefined && etag !== undefined
              ? ([412, 'PreconditionFailed'] as const)
              : ifMatch !== undefined && etag === undefined
                ? ([404, 'NoSuchKey'] as const)
                : ifMatch !== undefined && unquote(ifMatch) !== unquote(etag ?? '')
                  ? ([412, 'PreconditionFailed'] as const)
                  : undefined;
          if (failure) {
            refused++;
            // Read the request body first, as a server would, so the client sees the answer.
            await new Promise<void>((resolve) => {
              req.once('end', resolve);
              req.once('error', () => resolve());
              req.resume();
            });
            reject(failure[0], failure[1]);
            return;
          }
          passed++;
        }
        await forward();
      });
    },
    get refused() {
      return refused;
    },
    get passed() {
      return passed;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}
