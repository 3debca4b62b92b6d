/**
 * Jobs that name a registered version (model.ref) instead of a file: the reference is resolved
 * once, when the run is planned, to a version and its sha256; every shard scores that version
 * even if the alias moves while the run is in progress (real workers, real Redis); the report
 * names model, version, alias and sha256; a mapping that does not fit the version fails at plan
 * naming it; --model overrides the job's model for one run.
 *
 *   node --import tsx --test test/model-versions-runs.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { JobSpecError } from '../src/core/errors.js';
import { openRegistry } from '../src/registry/open-registry.js';
import { registerModel } from '../src/registry/register-model.js';
import { runIdFor } from '../src/run/run-identity.js';
import { scoreRun } from '../src/run/score-run.js';
import { Stores } from '../src/storage/stores.js';
import { assertMlpPart, DATE, fixture, listFiles, MLP, MLP_HEADER, mlpRows, mlpSpec, readOutput, toCsv, writeJob } from './helpers/jobs.js';
import { queueHarness } from './helpers/workers.js';

const V1 = buildMlp(MLP);
const V2 = buildMlp({ ...MLP, seed: 8 });
const NARROW = buildMlp({ features: 4, hidden: 8, seed: 3 });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A registry folder next to the fixture with fraud@1 = V1 (champion), fraud@2 = V2, fraud@3 = NARROW. */
async function registryIn(dir: string) {
  const uri = path.join(dir, 'registry');
  await mkdir(uri);
  const stores = new Stores();
  const registry = await openRegistry(uri, stores);
  await registerModel(registry, { name: 'fraud', bytes: V1, source: 'v1.onnx', by: 'ana', alias: 'champion' });
  await registerModel(registry, { name: 'fraud', bytes: V2, source: 'v2.onnx', by: 'ana' });
  await registerModel(registry, { name: 'fraud', bytes: NARROW, source: 'narrow.onnx', by: 'ana' });
  return { uri, registry, stores };
}

describe('jobs that name a registered version', () => {
  it('score a run with fraud@champion pinned at plan; the report names model, version, alias and sha256', async (t) => {
    const rows = mlpRows(50);
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, rows) } });
    const reg = await registryIn(fx.dir);
    t.after(() => reg.stores.close());
    const spec = mlpSpec();
    spec.model = { ref: 'fraud@champion', registry: reg.uri, inputs: spec.model.inputs, outputs: spec.model.outputs };
    const job = await writeJob(fx.dir, spec);
    const { report } = await scoreRun(job, reg.stores, { date: DATE });
    assert.equal(report.status, 'succeeded', report.reason);
    assert.deepEqual(
      { name: report.model?.name, version: report.model?.version, alias: report.model?.alias, ref: report.model?.ref, sha256: report.model?.sha256 },
      { name: 'fraud', version: 1, alias: 'champion', ref: 'fraud@champion', sha256: sha(V1) },
    );
    assert.equal(report.model?.uri, `${reg.uri}/fraud/versions/1/model.onnx`);
    await assertMlpPart(V1, await (await readOutput(fx.outputDir)).onlyPart(), rows);

    // --model: one run with another version, the job unchanged.
    const other = await scoreRun(job, reg.stores, { date: '2026-11-27', model: 'fraud@2', inputUri: `in/${DATE}/`, outputUri: 'out/override/' });
    assert.deepEqual([other.report.model?.version, other.report.model?.alias, other.report.model?.sha256], [2, undefined, sha(V2)]);
    await assertMlpPart(V2, await (await readOutput(path.join(fx.dir, 'out', 'override'))).onlyPart(), rows);
  });

  it('a mapping that does not fit the version the alias points to fails at plan, naming the version; nothing is written', async (t) => {
    const fx = await fixture(t, { files: { 'a.csv': toCsv(MLP_HEADER, mlpRows(5)) } });
    const reg = await registryIn(fx.dir);
    t.after(() => reg.stores.close());
    await reg.registry.promote('fraud', 3, 'champion', { by: 'bo' });
    const spec = mlpSpec();
    spec.model = { ref: 'fraud@champion', registry: reg.uri, inputs: spec.model.inputs, outputs: spec.model.outputs };
    const job = await writeJob(fx.dir, spec);
    await assert.rejects(scoreRun(job, reg.stores, { date: DATE }), (err: unknown) => {
      assert.ok(err instanceof JobSpecError, String(err));
      assert.match(err.message, /model input "features" has shape \[N, 4\]; it has 4 values per row, the job lists 8 column\(s\)/);
      assert.match(err.message, /model: fraud@3 \(fraud@champion\) does not fit the job's mapping/);
      return true;
    });
    assert.deepEqual(await listFiles(fx.outputDir), []);
  });

  it('refuses a job with both uri and ref, neither, or a malformed ref', async (t) => {
    const fx = await fixture(t, { files: {} });
    for (const [model, message] of [
      [{ uri: 'model.onnx', ref: 'fraud@1' }, /model: give uri or ref, not both/],
      [{}, /model: give either uri \(a model file\) or ref/],
      [{ ref: 'fraud' }, /model\.ref: model reference "fraud": expected name@alias or name@version/],
      [{ uri: 'model.onnx', registry: '/tmp' }, /model\.registry: only used with ref/],
    ] as const) {
      const spec = mlpSpec();
      spec.model = { ...model, inputs: spec.model.inputs, outputs: spec.model.outputs };
      await assert.rejects(writeJob(fx.dir, spec), message);
    }
  });
});

describe('a run on workers, with the alias moved between plan and shards', () => {
  it('scores every shard with the version resolved at plan', { timeout: 120_000 }, async (t) => {
    const q = await queueHarness(t);
    const rows = mlpRows(120);
    const fx = await fixture(t, {
      files: { 'a.csv': toCsv(MLP_HEADER, rows.slice(0, 40)), 'b.csv': toCsv(MLP_HEADER, rows.slice(40, 80)), 'c.csv': toCsv(MLP_HEADER, rows.slice(80)) },
    });
    const reg = await registryIn(fx.dir);
    t.after(() => reg.stores.close());
    const spec = mlpSpec();
    spec.model = { ref: 'fraud@champion', registry: reg.uri, inputs: spec.model.inputs, outputs: spec.model.outputs };
    const job = await writeJob(fx.dir, spec);

    // Shards wait in their (paused) queue: the plan runs, then the alias moves, then they run.
    await q.shards.pause();
    await q.spawnWorker();
    const { runId, attempt } = await q.trigger(job, DATE);
    await q.waitForRun(runId, attempt, { states: ['running'] });
    await reg.registry.promote('fraud', 2, 'champion', { by: 'bo', reason: 'moved mid-run' });
    await q.spawnWorker(); // a worker that never saw the plan scores shards too
    await q.shards.resume();
    const rec = await q.waitForRun(runId, attempt);
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${q.logs()}`);

    const out = await readOutput(fx.outputDir);
    assert.deepEqual([out.report?.model?.version, out.report?.model?.alias, out.report?.model?.sha256], [1, 'champion', sha(V1)]);
    assert.equal(out.parts.length, 3);
    for (const [i, part] of out.parts.entries()) await assertMlpPart(V1, await out.text(part), rows.slice(i * 40, i * 40 + 40));
    assert.equal(runId, runIdFor(job.spec.name, DATE));

    // The next run picks up the alias's new version.
    await q.trigger(job, DATE, { rerun: true }).then((r) => q.waitForRun(r.runId, r.attempt));
    const again = await readOutput(fx.outputDir);
    assert.deepEqual([again.report?.model?.version, again.report?.model?.sha256], [2, sha(V2)]);
  });
});
