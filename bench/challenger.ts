/**
 * The cost of a challenger (issue #13): `nightshift score` of the bench workload with the
 * champion alone, and with champion + challenger (a second 32→64→1 MLP, another seed) scoring
 * the same parsed batches, its comparison and its `_challenger/` parts. Runs alternate (alone,
 * with, alone, with…) and the best of each side counts: the machine's speed drifts within
 * minutes, and alternating keeps both sides under the same drift. The parse is shared, so the
 * ratio should be far below 2×.
 *
 *   npx tsx bench/challenger.ts [--rows 1000000] [--runs 2]    # alone (generates its workload)
 *   npm run bench                                              # as stage 4e (--skip challenger)
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as fromYaml, stringify as toYaml } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { scoreInChild } from './score-in-child.js';

export const CHALLENGER_MODEL = { features: 32, hidden: 64, seed: 33 };

export interface ScoreFigure {
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly rowsPerCpuSecond?: number | undefined;
}

export interface ChallengerCost<F extends ScoreFigure> {
  readonly alone: F;
  readonly withChallenger: F;
  /** Best time with the challenger / best time alone. */
  readonly ratio: number;
  readonly runs: number;
}

/**
 * `job` is the bench's job file; a challenger job is written beside it (same input and output,
 * model.challenger with a threshold, so every comparison figure is computed).
 */
export async function measureChallengerCost<F extends ScoreFigure>(job: string, runs: number, score: (job: string) => Promise<F>): Promise<ChallengerCost<F>> {
  const dir = path.dirname(job);
  await writeFile(path.join(dir, 'challenger.onnx'), buildMlp(CHALLENGER_MODEL));
  const spec = fromYaml(await readFile(job, 'utf8')) as { model: Record<string, unknown> };
  const withJob = path.join(dir, 'job-challenger.yaml');
  await writeFile(withJob, toYaml({ ...spec, model: { ...spec.model, challenger: { uri: 'challenger.onnx', threshold: 0.5 } } }));
  const alone: F[] = [];
  const withC: F[] = [];
  for (let i = 0; i < runs; i++) {
    alone.push(await score(job));
    withC.push(await score(withJob));
  }
  const best = (fs: F[]): F => fs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const a = best(alone);
  const w = best(withC);
  return { alone: a, withChallenger: w, ratio: w.seconds / a.seconds, runs };
}

/** The logical date of the bench runs (the input lies under in/<date>/). */
const DATE = '2026-11-28';

/** One `score` in a fresh process, as a figure. */
async function scoreOnce(job: string, rows: number): Promise<ScoreFigure> {
  const r = await scoreInChild(job, DATE, rows);
  return { seconds: r.seconds, rowsPerSecond: rows / r.seconds, rowsPerCpuSecond: rows / r.cpuSeconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '2' } } });
  const rows = Number(values.rows);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-challenger-'));
  try {
    const features = CHALLENGER_MODEL.features;
    await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features, hidden: 64, seed: 32 }));
    const csv = path.join(dir, 'main', 'in', DATE, 'data.csv');
    await writeSampleCsv(csv, { rows, features, seed: 1, decimals: 4 });
    await mkdir(path.join(dir, 'main', 'out'), { recursive: true });
    const job = path.join(dir, 'main', 'job.yaml');
    const spec = {
      name: 'bench-main',
      model: { uri: '../model.onnx', inputs: [{ name: 'features', columns: featureNames(features) }], outputs: [{ name: 'score', columns: ['score'] }] },
      input: { uri: 'in/{{date}}/', id: ['txn_id'], passthrough: ['merchant'] },
      output: { uri: 'out/{{date}}/' },
      limits: { batchRows: 8192, maxErrorRate: 0 },
    };
    await writeFile(job, toYaml(spec));
    const mb = (await stat(csv)).size / 1e6;
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
    const cost = await measureChallengerCost(job, Number(values.runs), (j) => scoreOnce(j, rows));
    const line = (label: string, f: ScoreFigure): string =>
      `${label.padEnd(40)} ${f.seconds.toFixed(2).padStart(7)} s ${Math.round(f.rowsPerSecond).toLocaleString('en-US').padStart(9)} rows/s ${Math.round(
        f.rowsPerCpuSecond ?? 0,
      )
        .toLocaleString('en-US')
        .padStart(9)} rows/CPU-s`;
    process.stdout.write(
      [
        `${rows.toLocaleString('en-US')} rows × ${features} features (${mb.toFixed(0)} MB), 32→64→1 MLPs, best of ${cost.runs} alternated runs each`,
        line('score, champion alone', cost.alone),
        line('score, champion + challenger', cost.withChallenger),
        `challenger cost: ${cost.ratio.toFixed(2)}× the time of the champion alone (per CPU-second: ${((cost.alone.rowsPerCpuSecond ?? 0) / (cost.withChallenger.rowsPerCpuSecond ?? 1)).toFixed(2)}×)`,
        `load average (1, 5, 15 min) at the start: ${load}; at the end: ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(', ')} on ${os.availableParallelism()} cores`,
      ].join('\n') + '\n',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
