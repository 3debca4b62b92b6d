/**
 * Peak memory of scoring does not grow with the input: scores N rows of 8 features in a fresh
 * child process (so nothing else counts) and reads its peak RSS (process.resourceUsage().maxRSS).
 *
 *   npx tsx bench/memory.ts                 # 200k vs 2M rows
 *   npx tsx bench/memory.ts 100000 1000000  # any sizes
 *
 * The child is this file with --child <job.yaml> <date>; it prints one JSON line. The data, model
 * and job are generated into a temp folder by the parent (scripts/sample-data.ts, models.ts).
 *
 * Reading the figures: V8 lets garbage build up between major GCs, over ~1.5M rows here, so peak
 * RSS saw-tooths between ~175 and ~220 MB however long the input (the heap left after a forced
 * GC stays ~17 MB throughout). 200k vs 2M rows therefore differs by up to ~45 MB without any
 * memory being retained; a leak shows as a difference that keeps growing with the row count.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { isMain } from '../scripts/is-main.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const DATE = '2026-11-28';
const FEATURES = 8;

export interface MemoryResult {
  readonly rows: number;
  readonly rowsScored: number;
  readonly inputBytes: number;
  /** Peak resident set size of the scoring process, bytes. */
  readonly maxRssBytes: number;
  readonly scoreMs: number;
}

/** Generates `rows` rows of 8 features, the model and a job under `dir`. */
export async function prepareMemoryJob(rows: number, dir: string): Promise<{ job: string; inputBytes: number }> {
  await mkdir(path.join(dir, 'in', DATE), { recursive: true });
  await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features: FEATURES, hidden: 16, seed: 7 }));
  const input = path.join(dir, 'in', DATE, 'data.csv');
  await writeSampleCsv(input, { rows, features: FEATURES, seed: 3 });
  const job = path.join(dir, 'job.yaml');
  await writeFile(
    job,
    stringify({
      name: 'memory-bench',
      model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: featureNames(FEATURES) }], outputs: [{ name: 'score', columns: ['score'] }] },
      input: { uri: 'in/{{date}}/', id: ['txn_id'], passthrough: ['merchant'] },
      output: { uri: 'out/{{date}}/' },
    }),
  );
  return { job, inputBytes: (await stat(input)).size };
}

/** Scores a prepared job in a fresh child process and returns its peak RSS. */
export async function measureScoringPeakRss(rows: number, dir: string): Promise<MemoryResult> {
  const { job, inputBytes } = await prepareMemoryJob(rows, dir);
  return { rows, inputBytes, ...(await runChild([SELF, '--child', job, DATE])) };
}

function runChild(args: string[]): Promise<Omit<MemoryResult, 'rows' | 'inputBytes'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`memory child exited with ${code}: ${out}`));
      try {
        resolve(JSON.parse(last) as Omit<MemoryResult, 'rows' | 'inputBytes'>);
      } catch (err) {
        reject(new Error(`memory child printed no result: ${out}`, { cause: err }));
      }
    });
  });
}

/** In the child: score the job once, then report the process's peak RSS. */
async function child(jobFile: string, date: string): Promise<void> {
  const { loadJobFile } = await import('../src/spec/load-spec.js');
  const { scoreRun } = await import('../src/run/score-run.js');
  const { Stores } = await import('../src/storage/stores.js');
  const job = await loadJobFile(jobFile);
  const stores = new Stores();
  const t0 = performance.now();
  try {
    const { report } = await scoreRun(job, stores, { date });
    if (report.status !== 'succeeded') throw new Error(`run failed: ${report.reason ?? ''}`);
    const result = { rowsScored: report.rows.scored, maxRssBytes: process.resourceUsage().maxRSS * 1024, scoreMs: Math.round(performance.now() - t0) };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    stores.close();
  }
}

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

if (await isMain(import.meta.url)) {
  const [first, ...rest] = process.argv.slice(2);
  if (first === '--child') {
    const [jobFile, date] = rest;
    if (!jobFile || !date) throw new Error('usage: memory.ts --child <job.yaml> <date>');
    await child(jobFile, date);
  } else {
    const sizes = [first, ...rest].filter((s): s is string => s !== undefined).map(Number);
    const [small, large] = sizes.length === 2 ? sizes : [200_000, 2_000_000];
    const results: MemoryResult[] = [];
    for (const rows of [small ?? 200_000, large ?? 2_000_000]) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-membench-'));
      try {
        const r = await measureScoringPeakRss(rows, dir);
        results.push(r);
        process.stdout.write(
          `${rows.toLocaleString('en-US').padStart(10)} rows (${mb(r.inputBytes)} CSV): peak RSS ${mb(r.maxRssBytes)}, scored in ${(r.scoreMs / 1000).toFixed(1)} s\n`,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const [a, b] = results as [MemoryResult, MemoryResult];
    process.stdout.write(`difference: ${mb(b.maxRssBytes - a.maxRssBytes)} for ${(b.rows / a.rows).toFixed(0)}× the rows\n`);
  }
}
