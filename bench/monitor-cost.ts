/**
 * The CPU cost of run profiling alone (issue #14: monitoring overhead ≤ 10 % of `score`): the
 * bench workload's batches (32 float features of 4 decimals + a float score, 8,192 rows a batch,
 * shards of 250,000 rows) fed to ProfileCollector, then the shards' profiles merged as finalize
 * does. No parsing, no model: what profiling adds, in CPU seconds per million rows (steadier on a
 * shared machine than a wall-clock difference of two whole runs).
 *
 *   npx tsx bench/monitor-cost.ts [--rows 1000000] [--rounds 5]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { ColumnarBatch, ScoreColumns } from '../src/core/types.js';
import { mergeProfiles, ProfileCollector, type ProfileSignature, type RunProfile, type SketchSampling } from '../src/monitor/run-profile.js';
import { mulberry32 } from '../scripts/models/models.js';

const FEATURES = 32;
const BATCH = 8192;
const SHARD_ROWS = 250_000;

const signature: ProfileSignature = {
  inputs: [{ name: 'features', columns: Array.from({ length: FEATURES }, (_, i) => `f${i}`), dtype: 'float32' }],
  outputs: [{ name: 'score', columns: ['score'] }],
};

/** A few distinct batches, cycled: generating values is not what is measured. */
function makeBatches(n: number): { batch: ColumnarBatch; scores: ScoreColumns[] }[] {
  const rand = mulberry32(1);
  return Array.from({ length: n }, () => {
    const f = new Float32Array(BATCH * FEATURES);
    for (let k = 0; k < f.length; k++) f[k] = Math.round((rand() - 0.5) * 4 * 1e4) / 1e4;
    const s = new Float32Array(BATCH);
    for (let r = 0; r < BATCH; r++) s[r] = rand();
    const batch: ColumnarBatch = { rows: BATCH, features: new Map([['features', f]]), ids: [], passthrough: [], lines: [] };
    return { batch, scores: [{ name: 'score', width: 1, values: s }] };
  });
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function profileRows(rows: number, batches: ReturnType<typeof makeBatches>, sampling?: SketchSampling): { collect: number; merge: number } {
  const t0 = cpuSeconds();
  const shards: RunProfile[] = [];
  let done = 0;
  let i = 0;
  while (done < rows) {
    const c = new ProfileCollector(signature, sampling);
    for (let inShard = 0; inShard < SHARD_ROWS && done < rows; i++) {
      const b = batches[i % batches.length] as (typeof batches)[number];
      const n = Math.min(BATCH, rows - done, SHARD_ROWS - inShard);
      const batch = { ...b.batch, rows: n };
      c.addBatch(batch);
      c.addScores(b.scores, n);
      done += n;
      inShard += n;
    }
    shards.push(JSON.parse(JSON.stringify(c.toJson())) as RunProfile);
  }
  const t1 = cpuSeconds();
  JSON.stringify(mergeProfiles(shards));
  return { collect: t1 - t0, merge: cpuSeconds() - t1 };
}

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const rows = Number(values.rows);
const rounds = Number(values.rounds);
const batches = makeBatches(8);
if (process.env.NO_WARMUP === undefined) profileRows(Math.min(rows, 300_000), batches); // warm-up: JIT
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const best = (xs: number[]): number => Math.min(...xs);
const perM = (s: number): string => ((s * 1e6) / rows).toFixed(3);
// Rounds of the three alternated, so the machine's drift falls on all of them alike.
const runs = { profile: [] as number[], merge: [] as number[], moments: [] as number[], sketchAll: [] as number[] };
for (let r = 0; r < rounds; r++) {
  const p = profileRows(rows, batches);
  runs.profile.push(p.collect);
  runs.merge.push(p.merge);
  // The two parts: counts and moments alone (no row sketched), and every row sketched.
  runs.moments.push(profileRows(rows, batches, { exactRows: 0, sampleEvery: 2 ** 30 }).collect);
  runs.sketchAll.push(profileRows(rows, batches, { exactRows: Number.POSITIVE_INFINITY, sampleEvery: 1 }).collect);
}
const values1 = rows * (FEATURES + 1);
console.log(
  [
    `profiling ${rows.toLocaleString('en-US')} rows × ${FEATURES + 1} columns, CPU s per 1M rows (best / median of ${rounds}), load ${os.loadavg()[0]?.toFixed(1)}:`,
    `  as run (default sampling)       ${perM(best(runs.profile))} / ${perM(median(runs.profile))}  (${((best(runs.profile) / values1) * 1e9).toFixed(1)} ns a value)`,
    `  counts and moments only         ${perM(best(runs.moments))} / ${perM(median(runs.moments))}`,
    `  every row sketched              ${perM(best(runs.sketchAll))} / ${perM(median(runs.sketchAll))}`,
    `  merge of the shards + JSON      ${(median(runs.merge) * 1000).toFixed(0)} ms`,
  ].join('\n'),
);
