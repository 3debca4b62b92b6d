/**
 * The compiled build as users run it, with the bundles of scripts/bundle.mjs: `nightshift score
 * --threads N`, whose shard threads start from the one-module shard-thread bundle, and `nightshift
 * worker`, which bin/nightshift.js starts from the CLI bundle. The other tests run the sources;
 * only these prove the bundles load, score the same bytes, and hand a shard thread's input error
 * back as an InputError (exit 3) with its location. (A bundle that throws on import fails them.)
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DATE, fixture, outputDigests, mlpRows, MLP_HEADER, mlpSpec, readOutput, runJob, toCsv } from './helpers/jobs.js';
import { openQueueHarness, REPO_ROOT } from './helpers/workers.js';
import { freshBundleOr } from '../src/core/fresh-bundle.js';

const run = promisify(execFile);

/** A build of the sources into `dir` (tsc, then the bundle step), runnable as `dir/bin/nightshift.js`. */
async function buildInto(dir: string): Promise<string> {
  await copyFile(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  await mkdir(path.join(dir, 'bin'));
  await copyFile(path.join(REPO_ROOT, 'bin', 'nightshift.js'), path.join(dir, 'bin', 'nightshift.js'));
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], { cwd: REPO_ROOT });
  await run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bundle.mjs')], { cwd: dir });
  return path.join(dir, 'bin', 'nightshift.js');
}

/** One build for the file's tests (tsc takes a while). */
let build = '';
let cli = '';
before(async () => {
  build = await mkdtemp(path.join(os.tmpdir(), 'nightshift-build-'));
  cli = await buildInto(build);
});
after(() => rm(build, { recursive: true, force: true }));

/** Whether `bundle` (under the build's dist/) is what loads in place of the compiled `modules`. */
function fresh(bundle: string, modules: string): boolean {
  const url = pathToFileURL(path.join(build, 'dist', bundle));
  return freshBundleOr(url, pathToFileURL(path.join(build, 'dist', modules))).href === url.href;
}

async function score(cli: string, job: string, threads: number): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, [cli, 'score', job, '--date', DATE, '--threads', String(threads)], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

it('the compiled build scores the same bytes with 1 and 2 threads (shard threads from the bundle), and fails a bad shard with its location', async (t) => {
  assert.ok(fresh('run/shard-thread.bundle.mjs', 'run/shard-thread.js'), 'the bundle is newer than the compiled thread, so threads start from it');
  assert.ok(fresh('cli-bundle/main.js', 'cli/main.js'), 'the CLI bundle is newer than the compiled CLI, so bin/nightshift.js runs it');

  const spec = mlpSpec();
  spec.input.shardBytes = 64 * 1024;
  const rows = mlpRows(4000, { seed: 5, noteFor: (i) => (i % 50 === 0 ? `two\nlines ${i}` : `n${i}`) });
  rows[2500] = ['bad', 'x', 'oops', '1', '2', '3', '4', '5', '6', '7'];
  const fx = await fixture(t, {
    spec,
    files: { 'big.csv': toCsv(MLP_HEADER, rows), 'small.csv': toCsv(MLP_HEADER, mlpRows(200, { seed: 3, idPrefix: 's' })) },
  });
  const one = await score(cli, fx.job.file, 1);
  assert.equal(one.code, 0, one.stderr);
  const a = await outputDigests(fx.outputDir);
  const two = await score(cli, fx.job.file, 2);
  assert.equal(two.code, 0, two.stderr);
  const b = await outputDigests(fx.outputDir);
  assert.ok(Object.keys(a).length >= 4, `several parts (${Object.keys(a).join(', ')})`);
  assert.deepEqual(b, a);

  // An unclosed quote in the shard that the thread scores (the second of two objects).
  const bad = await fixture(t, {
    spec: mlpSpec(),
    files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(100)), 'b.csv': `${MLP_HEADER.join(',')}\nb1,"unclosed,1,2,3,4,5,6,7,8\n` },
  });
  const failed = await score(cli, bad.job.file, 2);
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(failed.stderr, /b\.csv:2: a quoted field is never closed/);
  const out = await readOutput(bad.outputDir);
  assert.equal(out.success, undefined);
  assert.deepEqual(out.parts, []);
});

it('a compiled worker (from the CLI bundle) scores a run to the same bytes as the sources do in-process', async (t) => {
  assert.ok(fresh('cli-bundle/main.js', 'cli/main.js'), 'the CLI bundle is newer than the compiled CLI, so bin/nightshift.js runs it');
  const spec = mlpSpec();
  spec.input.shardBytes = 64 * 1024;
  const files = { 'big.csv': toCsv(MLP_HEADER, mlpRows(3000, { seed: 4 })), 'small.csv': toCsv(MLP_HEADER, mlpRows(100, { seed: 6, idPrefix: 's' })) };
  const reference = await fixture(t, { spec, files });
  assert.equal((await runJob(reference.job)).report.status, 'succeeded');
  const fx = await fixture(t, { spec, files });
  const h = await openQueueHarness(undefined, undefined, { compiled: true, root: build });
  t.after(() => h.close());
  const trig = await h.trigger(fx.job, DATE);
  await h.spawnWorker();
  const rec = await h.waitForRun(trig.runId, trig.attempt);
  assert.equal(rec.status, 'succeeded', h.logs());
  assert.equal(rec.rowsScored, 3100);
  const expected = await outputDigests(reference.outputDir);
  assert.ok(Object.keys(expected).length >= 3, `several parts (${Object.keys(expected).join(', ')})`);
  assert.deepEqual(await outputDigests(fx.outputDir), expected);
});
