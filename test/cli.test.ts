/**
 * The command line as users and schedulers see it: `node --import tsx src/cli/main.ts …` run as a
 * real child process, checked by exit code (0 ok, 2 spec/model/usage, 3 bad data), output, and
 * what it leaves in the output folder.
 *
 *   node --import tsx --test test/cli.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { assertMlpPart, DATE, fixture, listFiles, MLP_HEADER, mlpRows, mlpSpec, readOutput, specYaml, toCsv, writeIn, type Fixture } from './helpers/jobs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in a child process and waits for it to exit. */
function cli(args: readonly string[], cwd = ROOT): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd,
      env: { ...process.env, NIGHTSHIFT_JOBS_DIR: path.join(cwd, 'no-jobs-here') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, `exit code ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** A job folder whose input is `rows` (the MLP header) plus optional raw text appended. */
async function cliFixture(t: TestContext, options: { rows?: string[][]; extra?: string; spec?: JobSpecInput } = {}): Promise<Fixture> {
  const rows = options.rows ?? mlpRows(30);
  return fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, rows) + (options.extra ?? '') }, ...(options.spec ? { spec: options.spec } : {}) });
}

describe('nightshift --help and usage errors', () => {
  it('--help lists the commands and exit codes and exits 0; no command exits 2', async () => {
    const [help, none] = await Promise.all([cli(['--help']), cli([])]);
    expectExit(help, 0);
    assert.match(help.stdout, /^Usage: nightshift <command> \[options\]$/m);
    assert.match(help.stdout, /^ {2}validate /m);
    assert.match(help.stdout, /^ {2}score /m);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 internal failure, 2 spec\/model\/usage error, 3 bad data/);
    expectExit(none, 2);
    assert.match(none.stdout, /Usage: nightshift/);
  });
});

describe('nightshift validate', () => {
  it('exits 0 for a good spec and 2 when any spec or model mapping is bad, naming file and field', async (t) => {
    const fx = await cliFixture(t);
    const badDtype = mlpSpec();
    (badDtype.model.inputs[0] as Record<string, unknown>)['dtype'] = 'float16';
    const badFile = await writeIn(fx.dir, 'bad-dtype.yaml', specYaml(badDtype));
    const mismatch = mlpSpec();
    mismatch.model.inputs[0] = { name: 'features', columns: MLP_HEADER.slice(2, 8) };
    const mismatchFile = await writeIn(fx.dir, 'mismatch.yaml', specYaml(mismatch));

    const [good, bad] = await Promise.all([cli(['validate', fx.job.file]), cli(['validate', fx.job.file, badFile, mismatchFile])]);
    expectExit(good, 0);
    assert.match(good.stdout, new RegExp(`^ok +${escape(fx.job.file)} \\(job test-job, model sha256 [0-9a-f]{12}`, 'm'));
    expectExit(bad, 2);
    assert.match(bad.stdout, new RegExp(`^ok +${escape(fx.job.file)}`, 'm'));
    assert.match(bad.stdout, new RegExp(`^FAIL ${escape(badFile)}: invalid job spec:\\n  - model\\.inputs\\.0\\.dtype: .*found "float16"`, 'm'));
    assert.match(bad.stdout, new RegExp(`^FAIL ${escape(mismatchFile)}: invalid job spec:\\n  - model\\.inputs\\.0\\.columns: .*the job lists 6 column`, 'm'));
    assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), [], 'validate writes nothing');
  });
});

describe('nightshift score', () => {
  it('exits 0 and publishes the run', async (t) => {
    const rows = mlpRows(30);
    const fx = await cliFixture(t, { rows });
    const r = await cli(['score', fx.job.file, '--date', DATE]);
    expectExit(r, 0);
    assert.match(r.stdout, /^run test-job@2026-11-28 succeeded$/m);
    assert.match(r.stdout, /rows: 30 read = 30 scored \+ 0 rejected/);
    const out = await readOutput(fx.outputDir);
    assert.ok(out.success, '_SUCCESS is published');
    await assertMlpPart(fx.model, await out.onlyPart(), rows);
  });

  it('exits 2 on a spec/model error (and on a bad --date), writing nothing', async (t) => {
    const spec = mlpSpec();
    spec.model.outputs = [{ name: 'probability', columns: ['score'] }];
    const fx = await cliFixture(t, { spec });
    const [mismatch, badDate] = await Promise.all([cli(['score', fx.job.file, '--date', DATE]), cli(['score', fx.job.file, '--date', '2026-02-30'])]);
    expectExit(mismatch, 2);
    assert.match(mismatch.stderr, /model\.outputs\.0\.name: .*has no output "probability"/);
    expectExit(badDate, 2);
    assert.match(badDate.stderr, /--date "2026-02-30"/);
    assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), []);
  });

  it('refuses logical dates outside 1970-01-01..2199-12-31 in score, trigger and backfill (exit 2)', async (t) => {
    const fx = await cliFixture(t);
    const results = await Promise.all([
      cli(['score', fx.job.file, '--date', '9999-12-31']),
      cli(['trigger', fx.job.file, '--date', '0000-01-01']),
      cli(['backfill', fx.job.file, '--from', '0000-01-01', '--to', '1970-01-02']),
      cli(['backfill', fx.job.file, '--from', '2199-12-30', '--to', '9999-12-31']),
    ]);
    for (const r of results) {
      expectExit(r, 2);
      assert.match(r.stderr, /expected a date from 1970-01-01 to 2199-12-31/);
    }
    assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), []);
  });

  it('exits 3 on bad data: more rejected rows than limits.maxErrorRate allows, or a file-level error', async (t) => {
    const rows = mlpRows(20);
    for (const i of [2, 5, 11]) (rows[i] as string[])[4] = 'oops';
    const spec = mlpSpec();
    spec.limits = { maxErrorRate: 0.05 };
    const overBudget = await cliFixture(t, { rows, spec });
    const unclosed = await cliFixture(t, { rows: mlpRows(3), extra: 'r9,"never closed,1,2,3,4,5,6,7,8\n' });
    const [r, u] = await Promise.all([cli(['score', overBudget.job.file, '--date', DATE]), cli(['score', unclosed.job.file, '--date', DATE])]);

    expectExit(r, 3);
    assert.match(r.stderr, /3 of 20 rows rejected .*above limits\.maxErrorRate/);
    assert.match(r.stdout, /no _SUCCESS: not published/);
    const out = await readOutput(overBudget.outputDir);
    assert.equal(out.success, undefined);
    assert.deepEqual(out.parts, []);
    assert.equal(out.errors.length, 1, 'the errors file is kept');
    assert.equal(out.report?.status, 'failed');

    expectExit(u, 3);
    assert.match(u.stderr, new RegExp(`${escape(path.join(unclosed.inputDir, 'data.csv'))}:5: .*unclosed quote`));
    assert.equal((await readOutput(unclosed.outputDir)).success, undefined);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
