/**
 * Server time of the dashboard's runs grid with many runs in the registry (issue #16: a registry
 * with 1,000 runs renders its grid in under a second of server time). Seeds run records on a
 * throwaway Redis key prefix (10 jobs × N/10 dates, a rerun for one run in ten), then requests
 * the grid's first and a middle page through a real HTTP server with a logged-in session and
 * times each request inside the server, from the request to the last byte written.
 *
 *   npx tsx bench/dashboard-grid.ts                  # 1,000 and 10,000 runs
 *   npx tsx bench/dashboard-grid.ts --runs 1000 --requests 30
 *
 * Needs Redis (NIGHTSHIFT_TEST_REDIS_URL or 127.0.0.1:6379); removes its keys when done.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import { createDashboard } from '../src/dashboard/dashboard.js';
import { createApiServer } from '../src/http/server.js';
import { RunRegistry, type RunRecord, type RunState } from '../src/queue/run-registry.js';
import { addDays } from '../src/run/run-identity.js';
import { parseJobSpec, type LoadedJob } from '../src/spec/load-spec.js';
import { Stores } from '../src/storage/stores.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, requests: { type: 'string', default: '20' } } });
const sizes = values.runs ? [Number(values.runs)] : [1_000, 10_000];
const requests = Number(values.requests);
const JOBS = 10;
const STATES: RunState[] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'held', 'skipped', 'cancelled', 'running', 'queued'];

function job(name: string): LoadedJob {
  const spec = {
    name,
    model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: ['f0'], dtype: 'float32' }], outputs: [{ name: 'score', columns: ['score'] }] },
    input: { uri: 'in/{{date}}/', id: ['id'] },
    output: { uri: 'out/{{job}}/{{date}}/' },
  };
  return parseJobSpec(toYaml(spec), `/bench/jobs/${name}.yaml`);
}

async function seed(registry: RunRegistry, runs: number): Promise<void> {
  const perJob = Math.ceil(runs / JOBS);
  const start = Date.parse('2026-01-01T03:00:00Z');
  const p: Promise<void>[] = [];
  for (let j = 0; j < JOBS; j++) {
    for (let d = 0; d < perJob && j * perJob + d < runs; d++) {
      const logicalDate = addDays('2024-01-01', d);
      const runId = `job-${j}@${logicalDate}`;
      const attempts = d % 10 === 0 ? 2 : 1;
      for (let a = 1; a <= attempts; a++) {
        const rec: RunRecord = {
          runId,
          attempt: `a${a}-${randomBytes(2).toString('hex')}`,
          job: `job-${j}`,
          logicalDate,
          status: STATES[(j + d + a) % STATES.length] as RunState,
          triggeredAt: new Date(start + d * 86_400_000 + a * 60_000).toISOString(),
          trigger: 'schedule',
          shards: 4,
          shardsDone: 4,
          rowsRead: 100_000,
          rowsScored: 99_990,
          rowsRejected: 10,
        };
        p.push(registry.create(rec));
        if (p.length >= 500) await Promise.all(p.splice(0));
      }
    }
  }
  await Promise.all(p);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function measure(runs: number): Promise<void> {
  const redis = new Redis(process.env.NIGHTSHIFT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const prefix = `bench-dash-${randomBytes(4).toString('hex')}`;
  // Records older than the retention window would be trimmed from the index on write: keep them all.
  const registry = new RunRegistry(redis, prefix, 10 * 365 * 86_400_000);
  const stores = new Stores();
  const token = randomBytes(16).toString('hex');
  const jobs = new Map(Array.from({ length: JOBS }, (_, j) => [`job-${j}`, job(`job-${j}`)]));
  try {
    await seed(registry, runs);
    const dashboard = createDashboard({ token, client: { registry }, jobs: async () => jobs, stores });
    const serverMs: number[] = [];
    const timed = {
      ...dashboard,
      serve: async (req: Parameters<typeof dashboard.serve>[0], res: Parameters<typeof dashboard.serve>[1]) => {
        const t0 = performance.now();
        res.once('finish', () => serverMs.push(performance.now() - t0));
        await dashboard.serve(req, res);
      },
    };
    const client = { runs: undefined as never, registry, redis, prefix, close: async () => undefined };
    const server: Server = createApiServer({ token, client, jobs: async () => jobs, stores, dashboard: timed });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const login = await fetch(`${origin}/ui/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token, name: 'bench' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    for (const page of [1, 5]) {
      serverMs.length = 0;
      let bytes = 0;
      let cells = 0;
      for (let i = 0; i < requests; i++) {
        const res = await fetch(`${origin}/ui/runs?page=${page}`, { headers: { cookie } });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`grid answered ${res.status}`);
        bytes = text.length;
        cells = (text.match(/data-run=/g) ?? []).length;
      }
      const sorted = [...serverMs].sort((a, b) => a - b);
      console.log(
        `${runs} runs, grid page ${page}: ${cells} cells, ${Math.round(bytes / 1024)} KiB; server time median ${quantile(sorted, 0.5).toFixed(1)} ms, p95 ${quantile(sorted, 0.95).toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms over ${requests} requests (load ${os.loadavg()[0]?.toFixed(1)})`,
      );
    }
    await new Promise((r) => server.close(r));
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
    stores.close();
  }
}

for (const n of sizes) await measure(n);
