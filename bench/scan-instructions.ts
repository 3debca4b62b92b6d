/**
 * Instructions per pass of the fast path (scanner + FastBatchBuilder) and of the physical
 * ceiling over the bench CSV, counted by callgrind: unlike CPU seconds, instruction counts do not
 * move with the load of a shared machine, so a change of a few percent can be read in one run.
 *
 *   npx tsx bench/scan-instructions.ts [rows] [passes]   # default 20000 rows, 3 passes
 *
 * How: the sources are transpiled file by file with esbuild (as they are, not bundled: each
 * bench module keeps its own import.meta.url), and this file is run by
 * node --single-threaded (compilation on the main thread, so the counts repeat) under
 * valgrind --tool=callgrind, once with `passes` passes and once with 1; the difference over
 * passes − 1 is one warm pass (start-up, module loading and first-pass compilation cancel out).
 * Run with `--pass <fast|ceiling> <file> <n>` it is the measured program itself.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from '../scripts/is-main.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { measureFastPath } from './parse-ceiling.js';
import { scanCeiling } from './physical-ceiling.js';

const FEATURES = 32;
const CHUNK_BYTES = 1024 * 1024;

/** The measured program: `n` passes of one scanner over the file; prints the checksum. */
async function passes(kind: string, file: string, n: number): Promise<void> {
  const csv = await readFile(file);
  let line = '';
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const cpu = process.cpuUsage();
    if (kind === 'fast') {
      const f = await measureFastPath(csv, FEATURES, 1);
      line = `fast Σ ${f.sum} rows ${f.rows} id bytes ${f.idBytes}`;
    } else {
      const chunks: Buffer[] = [];
      for (let at = 0; at < csv.length; at += CHUNK_BYTES) chunks.push(csv.subarray(at, at + CHUNK_BYTES));
      const c = scanCeiling(chunks, featureNames(FEATURES), 'txn_id', 'merchant');
      line = `ceiling Σ ${c.sum} rows ${c.rows} id bytes ${c.idBytes}`;
    }
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  // The best pass's CPU time, for a native A/B of builds without valgrind.
  process.stdout.write(`${line} best pass ${best.toFixed(0)} CPU ms\n`);
}

/** Total instructions of one callgrind run of the bundle. */
function instructions(bundle: string, dir: string, kind: string, file: string, n: number): number {
  const out = path.join(dir, `callgrind.${kind}.${n}`);
  execFileSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', bundle, '--pass', kind, file, String(n)],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  const summary = execFileSync('callgrind_annotate', [out], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const m = /([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(summary) ?? /([\d,]+)\s+PROGRAM TOTALS/.exec(summary);
  if (!m) throw new Error(`no PROGRAM TOTALS in callgrind_annotate ${out}`);
  return Number((m[1] as string).replaceAll(',', ''));
}

async function measure(rows: number, n: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-instructions-'));
  try {
    const file = path.join(dir, 'data.csv');
    await writeSampleCsv(file, { rows, features: FEATURES, seed: 1, decimals: 4 });
    // In the repository, so the package imports resolve from its node_modules.
    const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
    const out = path.join(root, 'node_modules', '.cache', `scan-instructions-${process.pid}`);
    const sources = ['src', 'bench', 'scripts'].flatMap((d) =>
      readdirSync(path.join(root, d), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(root, d, f)),
    );
    execFileSync(path.join(root, 'node_modules', '.bin', 'esbuild'), [
      ...sources,
      `--outdir=${out}`,
      `--outbase=${root}`,
      '--platform=node',
      '--format=esm',
      '--log-level=warning',
    ]);
    await writeFile(path.join(out, 'package.json'), '{ "type": "module" }\n');
    const bundle = path.join(out, 'bench', 'scan-instructions.js');
    for (const kind of ['fast', 'ceiling']) {
      const many = instructions(bundle, dir, kind, file, n);
      const one = instructions(bundle, dir, kind, file, 1);
      const perPass = (many - one) / (n - 1);
      process.stdout.write(`${kind.padEnd(8)} ${(perPass / 1e6).toFixed(1)}M instructions per pass of ${rows} rows (${(perPass / rows).toFixed(0)} per row)\n`);
    }
    await rm(out, { recursive: true, force: true });
  } finally {
    if (process.env.KEEP_CALLGRIND) process.stdout.write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (await isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--pass') await passes(args[1] ?? 'fast', args[2] ?? '', Number(args[3] ?? 1));
  else await measure(Number(args[0] ?? 20_000), Number(args[1] ?? 3));
}
