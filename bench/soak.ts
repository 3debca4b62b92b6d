/**
 * Soak: many runs through one worker process; prints the worker's RSS after each run, so a leak
 * shows as a rising curve rather than a plateau after warm-up.
 *
 *   npx tsx bench/soak.ts                  # 12 runs × 200k rows, batchRows 512 (~4,700 batches)
 *   npx tsx bench/soak.ts --runs 30 --rows 500000
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { stringify } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { loadJobFile } from '../src/spec/load-spec.js';
import { openQueueHarness } from '../test/helpers/workers.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '12' }, rows: { type: 'string', default: '200000' }, 'batch-rows': { type: 'string', default: '512' } },
});
const runs = Number(values.runs);
const rows = Number(values.rows);
const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-soak-'));
const h = await openQueueHarness();
try {
  await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features: 8, hidden: 16, seed: 7 }));
  const dates: string[] = [];
  for (let i = 0; i < runs; i++) {
    const date = `2026-01-${String(i + 1).padStart(2, '0')}`;
    dates.push(date);
    // Two objects per date; the same bytes each date (generated once, written per date).
    await writeSampleCsv(path.join(dir, 'in', date, 'a.csv'), { rows: rows / 2, features: 8, seed: 1 });
    await writeSampleCsv(path.join(dir, 'in', date, 'b.csv'), { rows: rows / 2, features: 8, seed: 2 });
  }
  const spec = {
    name: 'soak',
    model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: featureNames(8) }], outputs: [{ name: 'score', columns: ['score'] }] },
    input: { uri: 'in/{{date}}/', id: ['txn_id'], passthrough: ['merchant'] },
    output: { uri: 'out/{{date}}/' },
    limits: { batchRows: Number(values['batch-rows']), maxErrorRate: 0 },
  };
  await writeFile(path.join(dir, 'job.yaml'), stringify(spec));
  const job = await loadJobFile(path.join(dir, 'job.yaml'));
  const worker = await h.spawnWorker({ NIGHTSHIFT_CONCURRENCY: '2' });
  const rss = async (): Promise<number> => {
    const status = await readFile(`/proc/${worker.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };
  const curve: number[] = [];
  process.stdout.write(`run  rows      worker RSS MB\n`);
  for (const [i, date] of dates.entries()) {
    const r = await h.trigger(job, date);
    const rec = await h.waitForRun(r.runId, r.attempt, { timeoutMs: 300_000 });
    if (rec.status !== 'succeeded') throw new Error(`run ${date} ${rec.status}: ${rec.reason}`);
    curve.push(await rss());
    process.stdout.write(`${String(i + 1).padStart(3)}  ${String(rec.rowsRead).padEnd(8)}  ${curve[i]?.toFixed(0)}\n`);
  }
  const warm = curve.slice(Math.min(3, curve.length - 1));
  const growth = (warm[warm.length - 1] ?? 0) - (warm[0] ?? 0);
  process.stdout.write(
    `batches per run ≈ ${Math.ceil(rows / Number(values['batch-rows']))}; RSS after warm-up: ${warm[0]?.toFixed(0)} → ${warm[warm.length - 1]?.toFixed(0)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MB over ${warm.length - 1} runs)\n`,
  );
} finally {
  await h.close();
  await rm(dir, { recursive: true, force: true });
}
