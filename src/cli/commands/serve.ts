/** `nightshift serve`: the HTTP trigger and run status API. */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiHasRoute, createApiServer, DEFAULT_TIMEOUTS } from '../../http/server.js';
import { createDashboard } from '../../dashboard/dashboard.js';
import { BOARD_PATH, createQueueBoard } from '../../http/queue-board.js';
import { redisChecks } from '../../http/health.js';
import { listenOn, parsePort } from '../../http/listen.js';
import { startOpsServer } from '../../http/ops-server.js';
import { registerQueueGauges } from '../../queue/queue-metrics.js';
import type { Server } from 'node:http';
import { rootLogger } from '../../core/logger.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { defaultRegistryUri, openRegistry } from '../../registry/open-registry.js';
import { loadJobsDir, type LoadedJob } from '../../spec/load-spec.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobsDir } from '../job-arg.js';
import { startService } from '../service-start.js';

export const serveHelp = `nightshift serve [--port 8080] [--host 127.0.0.1] [--registry URI] [--metrics-port P]
  Dashboard: open http://HOST:PORT/ in a browser and log in with the API token.
  HTTP API: POST /jobs/:name/runs {"date"?, "rerun"?, "model"?}, GET /runs, GET /runs/:id,
  POST /runs/:id/cancel {"by"?, "reason"?, "attempt"?} (409 when it has ended or is publishing),
  and the model registry (--registry or NIGHTSHIFT_REGISTRY) under /models (see README).
  Every request needs "Authorization: Bearer $NIGHTSHIFT_API_TOKEN", except /healthz and /readyz.
  GET /metrics: Prometheus text (with the token); --metrics-port serves it without auth instead.
  Bull Board (queue UI) at ${BOARD_PATH}/: the token as bearer, or as the password of HTTP Basic
  (a browser asks for it); read-only unless NIGHTSHIFT_BOARD_READ_ONLY=false.
  Waits for Redis at start-up and rides out Redis restarts (requests answer 503 meanwhile).
Environment: NIGHTSHIFT_API_TOKEN, NIGHTSHIFT_PORT, NIGHTSHIFT_REDIS_*, NIGHTSHIFT_LOG_LEVEL,
  NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS (${DEFAULT_TIMEOUTS.headersMs}), NIGHTSHIFT_HTTP_BODY_IDLE_MS (${DEFAULT_TIMEOUTS.bodyIdleMs}),
  NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS (${DEFAULT_TIMEOUTS.requestMs}).`;

const ms = z.coerce.number().int().min(100).max(600_000);
const envSchema = z.object({
  NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS: ms.default(DEFAULT_TIMEOUTS.headersMs),
  NIGHTSHIFT_HTTP_BODY_IDLE_MS: ms.default(DEFAULT_TIMEOUTS.bodyIdleMs),
  NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS: ms.default(DEFAULT_TIMEOUTS.requestMs),
  NIGHTSHIFT_BOARD_READ_ONLY: z.enum(['true', 'false']).default('true'),
});

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      registry: { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
    },
  });
  const metricsPort = parsePort(values['metrics-port'] ?? process.env.NIGHTSHIFT_METRICS_PORT, undefined, '--metrics-port');
  const token = process.env.NIGHTSHIFT_API_TOKEN ?? '';
  if (token.length < 16) throw new UsageError('set NIGHTSHIFT_API_TOKEN to a secret of at least 16 characters');
  const port = parsePort(values.port ?? process.env.NIGHTSHIFT_PORT, 8080, '--port') ?? 8080;
  const host = values.host ?? '127.0.0.1';
  const env = envSchema.safeParse(process.env);
  if (!env.success) throw new UsageError(`invalid serve settings: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const timeouts = {
    headersMs: env.data.NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS,
    bodyIdleMs: env.data.NIGHTSHIFT_HTTP_BODY_IDLE_MS,
    requestMs: env.data.NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS,
  };
  const log = rootLogger().child({ component: 'serve' });
  const service = await startService(log);
  if (!service) return EXIT.ok; // stopped while waiting for Redis
  const { client } = service;
  const jobs = async (): Promise<Map<string, LoadedJob>> => new Map((await loadJobsDir(jobsDir())).jobs.map((j) => [j.spec.name, j]));
  const registryUri = values.registry ?? defaultRegistryUri();
  const stores = new Stores();
  let registry: Promise<ModelRegistry> | undefined;
  const openModels = (): Promise<ModelRegistry> => {
    // Opened on first use and kept; a failure (registry not there yet) is tried again next time.
    registry ??= openRegistry(registryUri, stores).catch((err: unknown) => {
      registry = undefined;
      throw err;
    });
    return registry;
  };
  const closeGauges = registerQueueGauges(client.redis, client.prefix);
  const checks = redisChecks(client.redis);
  const board = await createQueueBoard(client.redis, client.prefix, { readOnly: env.data.NIGHTSHIFT_BOARD_READ_ONLY === 'true' });
  const dashboard = createDashboard({
    token,
    client,
    jobs,
    stores,
    log: log.child({ component: 'dashboard' }),
    ...(registryUri ? { registry: openModels } : {}),
    canCancel: apiHasRoute('POST', ['runs', ':id', 'cancel']),
    queuesPath: `${BOARD_PATH}/`,
  });
  const server = createApiServer({ token, client, jobs, timeouts, log, checks, stores, dashboard, board, ...(registryUri ? { registry: openModels } : {}) });
  let ops: Server | undefined;
  try {
    if (metricsPort !== undefined)
      ops = await startOpsServer(metricsPort, values['metrics-host'] ?? process.env.NIGHTSHIFT_METRICS_HOST ?? '127.0.0.1', checks, log);
    const address = await listenOn(server, port, host, 'serve');
    log.info({ address }, `nightshift serve listening on ${address}`);
    await service.stopped();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  } finally {
    ops?.close();
    await board.close();
    await closeGauges();
    await client.close();
    stores.close();
  }
  return EXIT.ok;
}
