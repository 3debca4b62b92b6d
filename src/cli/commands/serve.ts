/** `nightshift serve`: the HTTP trigger and run status API. */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createApiServer } from '../../http/server.js';
import { loadJobsDir, type LoadedJob } from '../../spec/load-spec.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobsDir } from '../job-arg.js';
import { openQueueClient } from '../queue-client.js';

export const serveHelp = `nightshift serve [--port 8080] [--host 127.0.0.1]
  HTTP API: POST /jobs/:name/runs {"date"?, "rerun"?}, GET /runs, GET /runs/:id.
  Every request needs "Authorization: Bearer $NIGHTSHIFT_API_TOKEN".`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' } } });
  const token = process.env.NIGHTSHIFT_API_TOKEN ?? '';
  if (token.length < 16) throw new UsageError('set NIGHTSHIFT_API_TOKEN to a secret of at least 16 characters');
  const port = Number(values.port ?? process.env.NIGHTSHIFT_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected 0-65535, found "${values.port}"`);
  const client = await openQueueClient();
  const jobs = async (): Promise<Map<string, LoadedJob>> => new Map((await loadJobsDir(jobsDir())).jobs.map((j) => [j.spec.name, j]));
  const server = createApiServer({ token, client, jobs });
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
  return EXIT.ok;
}
