/**
 * Ctrl-C on `nightshift score`: a real child process gets SIGINT while it scores; it cancels,
 * removes its attempt's files (finished parts and writes under way), publishes nothing and
 * exits 130. On one thread and on shard threads.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DATE, fixture, listFiles, mlpRows, MLP_HEADER, mlpSpec, toCsv } from './helpers/jobs.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.ts');

/** Resolves once `dir` (or a folder below it) holds a file: the run is writing its output. */
async function firstOutputFile(dir: string, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error('score exited before writing any output');
    if ((await listFiles(dir)).length > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const threads of [1, 2]) {
  it(`SIGINT during score --threads ${threads}: exit 130, no _SUCCESS, no report, no part or temp file left`, { timeout: 120_000 }, async (t) => {
    const spec = mlpSpec();
    spec.input.shardBytes = 64 * 1024;
    spec.limits = { batchRows: 256 };
    // Enough rows that scoring takes seconds even on a fast machine.
    const files: Record<string, string> = {};
    for (let f = 0; f < 4; f++) files[`part-${f}.csv`] = toCsv(MLP_HEADER, mlpRows(60_000, { seed: f + 1, idPrefix: `f${f}-` }));
    const fx = await fixture(t, { spec, files });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'score', fx.job.file, '--date', DATE, '--threads', String(threads)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

    await firstOutputFile(fx.outputDir, exited);
    child.kill('SIGINT');
    const code = await exited;

    assert.equal(code, 130, output);
    assert.match(output, /nothing was published and this attempt's files were removed|interrupted before any output/);
    const left = await listFiles(fx.outputDir);
    assert.deepEqual(
      left.filter((n) => !n.endsWith('/')),
      [],
      `files left: ${left.join(', ')}`,
    );
    // Inputs untouched.
    assert.equal((await readdir(fx.inputDir)).length, 4);
  });
}
