/**
 * Reading published output as a user does: `_latest.json` per job, `_SUCCESS` → parts, errors
 * files kept out of the way under `_errors/`, the library reader and `nightshift output`.
 *
 *   node --import tsx --test test/output-reader.test.ts
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { NotPublishedError } from '../src/core/errors.js';
import { findPublishedRun, readPublishedRows } from '../src/run/published-run.js';
import { Stores } from '../src/storage/stores.js';
import { buildMlp } from '../scripts/models/models.js';
import { DATE, listFiles, MLP, MLP_HEADER, mlpRows, mlpSpec, parseCsv, runJob, tempDir, toCsv, writeIn, writeJob } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';

const NEXT = '2026-11-29';

describe('published output', () => {
  it('gives each job its own _latest.json, keeps errors under _errors/, and reads what _SUCCESS lists', async (t) => {
    const dir = await tempDir(t, 'output');
    await writeIn(dir, 'model.onnx', buildMlp(MLP));
    const rows = mlpRows(300);
    (rows[5] as string[])[4] = 'not-a-number';
    for (const date of [DATE, NEXT]) {
      await writeIn(dir, `in/${date}/a.csv`, toCsv(MLP_HEADER, rows.slice(0, 150)));
      await writeIn(dir, `in/${date}/b.csv`, toCsv(MLP_HEADER, rows.slice(150)));
    }
    // Two jobs sharing one output template: before, both pointed one _latest.json at out/.
    const jobs = [];
    for (const name of ['alpha', 'beta']) jobs.push(await writeJob(dir, { ...mlpSpec(), name, output: { uri: 'out/{{job}}/{{date}}/' } }, `${name}.yaml`));
    const [alpha, beta] = jobs as [(typeof jobs)[number], (typeof jobs)[number]];
    for (const date of [DATE, NEXT]) assert.equal((await runJob(alpha, { date })).report.status, 'succeeded');
    assert.equal((await runJob(beta, { date: DATE })).report.status, 'succeeded');

    const latest = async (job: string): Promise<{ job: string; logicalDate: string }> =>
      JSON.parse(await readFile(path.join(dir, 'out', job, '_latest.json'), 'utf8')) as { job: string; logicalDate: string };
    assert.deepEqual(await latest('alpha').then((l) => [l.job, l.logicalDate]), ['alpha', NEXT]);
    assert.deepEqual(await latest('beta').then((l) => [l.job, l.logicalDate]), ['beta', DATE]);
    assert.deepEqual(
      (await listFiles(path.join(dir, 'out'))).filter((n) => !n.includes('/')),
      [],
      'no shared pointer at out/',
    );

    // Rejected rows are under _errors/, out of the way of globs over part-* and *.csv.
    const names = await listFiles(path.join(dir, 'out', 'alpha', DATE));
    assert.deepEqual(
      names.filter((n) => n.startsWith('part-') || n.includes('errors')).map((n) => n.replace(/a1-[0-9a-f]{4}/, 'a1')),
      ['_errors/errors-00000-a1.csv', 'part-00000-a1.csv', 'part-00001-a1.csv'],
    );
    assert.ok(names.includes('_SUCCESS'));

    const stores = new Stores();
    t.after(() => stores.close());
    const newest = await findPublishedRun(alpha, stores);
    assert.equal(newest.runId, `alpha@${NEXT}`);
    const run = await findPublishedRun(alpha, stores, { date: DATE });
    assert.deepEqual([run.runId, run.rows, run.parts.length], [`alpha@${DATE}`, 299, 2]);
    assert.ok(run.parts.every((p) => p.uri.startsWith(path.join(dir, 'out', 'alpha', DATE)) && p.bytes > 0 && p.format === 'csv'));
    const read: Record<string, unknown>[] = [];
    for await (const row of readPublishedRows(run, stores)) read.push(row);
    assert.equal(read.length, 299);
    assert.deepEqual(Object.keys(read[0] ?? {}), ['id', 'note', 'score']);
    assert.deepEqual(
      read.map((r) => r.id),
      rows.filter((_, i) => i !== 5).map((r) => r[0]),
    );

    await assert.rejects(findPublishedRun(beta, stores, { date: NEXT }), (err: unknown) => {
      assert.ok(err instanceof NotPublishedError);
      assert.match(err.message, new RegExp(`beta@${NEXT} has not published: no _SUCCESS at .*out/beta/${NEXT}/ \\(no report either`));
      return true;
    });

    // The command: list, cat (header once), JSON.
    const list = await runCli(['output', alpha.file, '--json']);
    assert.equal(list.code, 0, list.output);
    const listed = JSON.parse(list.output) as { runId: string; parts: { uri: string; bytes: number }[] };
    assert.equal(listed.runId, `alpha@${NEXT}`);
    assert.deepEqual(
      listed.parts.map((p) => p.uri),
      (await findPublishedRun(alpha, stores, { date: NEXT })).parts.map((p) => p.uri),
    );
    const catted = await runCli(['output', `${alpha.file}@${DATE}`, '--cat']);
    assert.equal(catted.code, 0, catted.output);
    const table = parseCsv(catted.output);
    assert.deepEqual(table.header, ['id', 'note', 'score']);
    assert.deepEqual(
      table.rows.map((r) => r[0]),
      read.map((r) => r.id),
    );
    const missing = await runCli(['output', beta.file, '--date', NEXT]);
    assert.equal(missing.code, 2, missing.output);
    assert.match(missing.output, /has not published/);
  });
});
