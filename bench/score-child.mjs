/**
 * One `nightshift score` in a fresh process, timed from the call of scoreRun to its end, for
 * bench/run.ts and bench/challenger.ts. Plain JavaScript on the compiled build (dist/, made by
 * `npm run build`, which `npm run bench` does first), run by plain `node`, as users run it: under
 * tsx, the loader hooks would be registered in every shard thread too and cost 0.1–0.15 s of a
 * 1.5 s run (measured 2026-11-30), a cost no user pays.
 *
 *   node bench/score-child.mjs <job.yaml> <date> <threads>   # prints one JSON line
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
const [job = '', date = '', threads = '1'] = process.argv.slice(2);
const api = await import(pathToFileURL(built).href);
const loaded = await api.loadJobFile(job);
const stores = new api.Stores();
const t = performance.now();
const cpu = process.cpuUsage();
const result = await api.scoreRun(loaded, stores, { date, threads: Number(threads) });
const seconds = (performance.now() - t) / 1000;
const used = process.cpuUsage(cpu);
stores.close();
if (result.report.status !== 'succeeded') throw new Error(result.report.reason ?? 'run failed');
process.stdout.write(
  JSON.stringify({
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    rowsScored: result.report.rows.scored,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
