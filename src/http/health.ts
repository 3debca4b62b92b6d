/**
 * Kubernetes-style probes, without auth (they reveal only up/down and why): /healthz says the
 * process is alive and its event loop turns; /readyz says it can do its work now (Redis
 * reachable, eviction policy safe, and whatever else the process adds, e.g. a worker whose
 * storage credentials are refused). 200 when ready, 503 with the failing checks otherwise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { checkEvictionPolicy } from '../queue/redis-check.js';
import { errorMessage } from '../core/errors.js';

/** Resolves to undefined when fine, or to why not. */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

export async function readiness(checks: Readonly<Record<string, ReadinessCheck>>): Promise<ReadinessReport> {
  const out: Record<string, { ok: boolean; detail?: string }> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const why = await withTimeout(check(), 2_000).catch((err: unknown) => errorMessage(err));
      out[name] = why === undefined ? { ok: true } : { ok: false, detail: why };
    }),
  );
  return { ready: Object.values(out).every((c) => c.ok), checks: out };
}

/** Redis answers a PING now, and its maxmemory-policy cannot evict queued runs (re-read at most every 30 s). */
export function redisChecks(redis: Redis): Record<string, ReadinessCheck> {
  let policy: { at: number; why: string | undefined } | undefined;
  return {
    redis: async () => {
      if (redis.status !== 'ready') return `Redis connection ${redis.status}`;
      await redis.ping();
      return undefined;
    },
    redisPolicy: async () => {
      if (redis.status !== 'ready') return 'Redis not connected';
      if (!policy || Date.now() - policy.at > 30_000) {
        const why = await checkEvictionPolicy(redis).then(
          () => undefined,
          (err: unknown) => errorMessage(err),
        );
        policy = { at: Date.now(), why };
      }
      return policy.why;
    },
  };
}

/** Answers /healthz and /readyz; returns false for any other path. */
export async function handleHealth(req: IncomingMessage, res: ServerResponse, checks: Readonly<Record<string, ReadinessCheck>>): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/healthz' && path !== '/readyz') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    return true;
  }
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return true;
  }
  const report = await readiness(checks);
  sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  return true;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
