/** `nightshift serve`: the HTTP trigger and run status API. */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createApiServer, DEFAULT_TIMEOUTS } from '../../http/server.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { defaultRegistryUri, openRegistry } from '../../registry/open-registry.js';
import { loadJobsDir, type LoadedJob } from '../../spec/load-spec.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobsDir } from '../job-arg.js';
import { openQueueClient } from '../../queue/queue-client.js';

export const serveHelp = `nightshift serve [--port 8080] [--host 127.0.0.1] [--registry URI]
  HTTP API: POST /jobs/:name/runs {"date"?, "rerun"?, "model"?}, GET /runs, GET /runs/:id,
  and the model registry (--registry or NIGHTSHIFT_REGISTRY) under /models (see README).
  Every request needs "Authorization: Bearer $NIGHTSHIFT_API_TOKEN".
Environment: NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS (${DEFAULT_TIMEOUTS.headersMs}), NIGHTSHIFT_HTTP_BODY_IDLE_MS (${DEFAULT_TIMEOUTS.bodyIdleMs}),
  NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS (${DEFAULT_TIMEOUTS.requestMs}).`;

const ms = z.coerce.number().int().min(100).max(600_000);
const envSchema = z.object({
  NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS: ms.default(DEFAULT_TIMEOUTS.headersMs),
  NIGHTSHIFT_HTTP_BODY_IDLE_MS: ms.default(DEFAULT_TIMEOUTS.bodyIdleMs),
  NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS: ms.default(DEFAULT_TIMEOUTS.requestMs),
});

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, registry: { type: 'string' } } });
  const token = process.env.NIGHTSHIFT_API_TOKEN ?? '';
  if (token.length < 16) throw new UsageError('set NIGHTSHIFT_API_TOKEN to a secret of at least 16 characters');
  const port = Number(values.port ?? process.env.NIGHTSHIFT_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected 0-65535, found "${values.port}"`);
  const env = envSchema.safeParse(process.env);
  if (!env.success) throw new UsageError(`invalid serve settings: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const timeouts = { headersMs: env.data.NIGHTSHIFT_HTTP_HEADERS_TIMEOUT_MS, bodyIdleMs: env.data.NIGHTSHIFT_HTTP_BODY_IDLE_MS, requestMs: env.data.NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS };
  const client = await openQueueClient();
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
  const server = createApiServer({ token, client, jobs, timeouts, ...(registryUri ? { registry: openModels } : {}) });
  server.listen(port, values.host ?? '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  process.stderr.write(`nightshift serve listening on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr)}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await client.close();
  stores.close();
  return EXIT.ok;
}
