/**
 * Two builds of nightshift on the same workload, alternated, for "before/after" figures of a
 * restructure (issue #11: "npm run bench before and after"). Each build is a checkout with
 * `npm ci` and `npm run build` done; each run is the real CLI (`node bin/nightshift.js score`) in
 * a fresh process, timed by /usr/bin/time (wall, user + sys CPU, peak RSS).
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)
 *   npx tsx bench/compare-builds.ts --before /tmp/before [--rows 1000000] [--rounds 3]
 *
 * The "after" build is this checkout; it is run with monitoring off (`monitor: {profile: false}`,
 * the same work as a build without monitoring) and with it on (the default).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FEATURES = 32;
const DATE = '2026-11-28';

interface Sample {
  wall: number;
  cpu: number;
  rssMB: number;
}

async function timed(build: string, job: string, out: string): Promise<Sample> {
  await rm(out, { recursive: true, force: true });
  const args = ['-f', '%e %U %S %M', process.execPath, path.join(build, 'bin', 'nightshift.js'), 'score', job, '--date', DATE];
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`${build}: score exited ${code}: ${err}`);
  const last = err.trim().split('\n').pop() ?? '';
  const [wall, user, sys, rssKB] = last.split(' ').map(Number);
  return { wall: wall ?? NaN, cpu: (user ?? NaN) + (sys ?? NaN), rssMB: (rssKB ?? NaN) / 1024 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { before: { type: 'string' }, rows: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } },
  });
  if (!values.before) throw new Error('--before <checkout with npm ci done> is required');
  const rows = Number(values.rows);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-compare-'));
  try {
    await writeFile(path.join(dir, 'model.onnx'), buildMlp({ features: FEATURES, hidden: 64, seed: 32 }));
    await writeSampleCsv(path.join(dir, 'in', DATE, 'data.csv'), { rows, features: FEATURES, seed: 1, decimals: 4 });
    const spec = (out: string, monitor?: object): object => ({
      name: 'compare',
      model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: featureNames(FEATURES) }], outputs: [{ name: 'score', columns: ['score'] }] },
      input: { uri: 'in/{{date}}/', id: ['txn_id'], passthrough: ['merchant'] },
      output: { uri: `${out}/{{date}}/` },
      limits: { batchRows: 8192, maxErrorRate: 0 },
      ...(monitor ? { monitor } : {}),
    });
    const variants = [
      { name: 'before', build: values.before, out: 'out-before', spec: spec('out-before') },
      { name: 'after, monitoring off', build: ROOT, out: 'out-off', spec: spec('out-off', { profile: false }) },
      { name: 'after, monitoring on', build: ROOT, out: 'out-on', spec: spec('out-on') },
    ];
    for (const v of variants) await writeFile(path.join(dir, `${v.out}.yaml`), toYaml(v.spec));
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    process.stderr.write(`${rows.toLocaleString('en-US')} rows × ${FEATURES} features, ${values.rounds} rounds, alternated\n`);
    for (let r = 0; r < Number(values.rounds); r++)
      for (const v of variants) {
        const s = await timed(v.build, path.join(dir, `${v.out}.yaml`), path.join(dir, v.out));
        samples.get(v.name)?.push(s);
        process.stderr.write(`  round ${r + 1} ${v.name}: ${s.wall.toFixed(2)} s wall, ${s.cpu.toFixed(2)} CPU s, load ${os.loadavg()[0]?.toFixed(1)}\n`);
      }
    const lines = ['| build | best wall s | rows/s | median CPU s | rows/CPU-s | peak RSS MB |', '|---|---:|---:|---:|---:|---:|'];
    for (const v of variants) {
      const s = samples.get(v.name) ?? [];
      const best = Math.min(...s.map((x) => x.wall));
      const cpu = s.map((x) => x.cpu).sort((a, b) => a - b)[Math.floor(s.length / 2)] ?? NaN;
      const rss = Math.max(...s.map((x) => x.rssMB));
      lines.push(
        `| ${v.name} | ${best.toFixed(2)} | ${Math.round(rows / best).toLocaleString('en-US')} | ${cpu.toFixed(2)} | ${Math.round(rows / cpu).toLocaleString('en-US')} | ${rss.toFixed(0)} |`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
