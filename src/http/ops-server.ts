/**
 * The operations listener of a worker (and optionally of serve): /metrics in Prometheus text
 * format, /healthz and /readyz. No auth: it shows counts and states, never payloads or secrets;
 * bind it to an interface only the scraper reaches (--metrics-host, default 127.0.0.1).
 */
import { createServer, type Server } from 'node:http';
import { registry } from '../core/metrics.js';
import type { Logger } from '../core/logger.js';
import { handleHealth, type ReadinessCheck } from './health.js';
import { listenOn } from './listen.js';

export async function serveMetrics(res: import('node:http').ServerResponse, log?: Logger): Promise<void> {
  try {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  } catch (err) {
    // A gauge read from Redis while Redis is down: say so rather than serve partial numbers.
    log?.warn({ err }, 'metrics collection failed');
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('metrics unavailable: a source (Redis) did not answer\n');
  }
}

export async function startOpsServer(port: number, host: string, checks: Readonly<Record<string, ReadinessCheck>>, log?: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (await handleHealth(req, res, checks)) return;
      if ((req.url ?? '').split('?')[0] === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) return serveMetrics(res, log);
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: /metrics, /healthz, /readyz\n');
    })().catch(() => res.destroy());
  });
  const address = await listenOn(server, port, host, 'metrics');
  log?.info({ address }, `metrics, /healthz and /readyz on ${address}`);
  return server;
}
