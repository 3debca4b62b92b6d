/**
 * The model registry on each store it runs on (a local folder; s3rver through the test proxy's
 * conditional-write layer): versions are immutable and numbered without collisions, aliases move
 * by compare-and-swap (two promoters at once: exactly one wins, the other is told the current
 * version, history shows one move), rollback, and bad input that fails clearly and changes
 * nothing.
 *
 *   node --import tsx --test test/registry.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildMlp } from '../scripts/models/models.js';
import { encodeModel, makeNode, onnx, tensorInfo } from '../scripts/models/onnx-builder.js';
import { AliasConflictError, ModelError, RegistryError, RegistryNotFoundError } from '../src/core/errors.js';
import { parseModelRef } from '../src/spec/model-ref.js';
import { openRegistry } from '../src/registry/open-registry.js';
import { registerModel } from '../src/registry/register-model.js';
import { Stores } from '../src/storage/stores.js';
import { MLP, tempDir } from './helpers/jobs.js';
import { localBackend, s3Backend, snapshot, type RegistryBackend } from './helpers/registry.js';
import { startS3, type S3Server } from './helpers/s3.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';

let s3: S3Server;
let proxy: FaultProxy;
before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
});
after(async () => {
  await proxy.close();
  await s3.stop();
});

const V1 = buildMlp(MLP);
const V2 = buildMlp({ ...MLP, seed: 8 });
/** Another signature: 4 features. */
const OTHER = buildMlp({ features: 4, hidden: 8, seed: 1 });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const backends: RegistryBackend[] = [
  localBackend,
  s3Backend(
    () => s3,
    () => proxy.endpoint,
  ),
];

for (const backend of backends) {
  describe(`model registry on ${backend.label}`, () => {
    it('registers immutable, numbered versions with their record and signature, and says when the signature changed', async (t) => {
      const { registry } = await backend.create(t);
      const r1 = await registerModel(registry, {
        name: 'fraud',
        bytes: V1,
        source: 'v1.onnx',
        by: 'ana',
        description: 'first',
        files: { 'metrics.json': Buffer.from('{"auc":0.9}') },
      });
      assert.equal(r1.record.version, 1);
      assert.equal(r1.previous, undefined);
      assert.equal(r1.record.sha256, sha(V1));
      assert.equal(r1.record.size, V1.length);
      assert.equal(r1.record.createdBy, 'ana');
      assert.equal(r1.record.description, 'first');
      assert.deepEqual(r1.record.signature, {
        inputs: [{ name: 'features', type: 'float32', shape: ['N', 8] }],
        outputs: [{ name: 'score', type: 'float32', shape: ['N', 1] }],
      });
      assert.deepEqual(r1.record.files['metrics.json'], { file: 'metrics.json', sha256: sha(Buffer.from('{"auc":0.9}')), size: 11 });

      const r2 = await registerModel(registry, { name: 'fraud', bytes: V2, source: 'v2.onnx', by: 'bo' });
      assert.equal(r2.record.version, 2);
      assert.deepEqual(r2.previous, { version: 1, changes: [] });
      const r3 = await registerModel(registry, { name: 'fraud', bytes: OTHER, source: 'other.onnx', by: 'bo' });
      assert.equal(r3.record.version, 3);
      assert.ok(r3.previous && r3.previous.changes.length > 0);
      assert.match(r3.previous.changes.join('\n'), /input "features" changed from float32 \[N, 8\] to float32 \[N, 4\]/);

      const stored = await registry.readModel(await registry.resolve(parseModelRef('fraud@1')));
      assert.equal(sha(stored), sha(V1), 'version 1 still holds its own bytes');
      assert.deepEqual(await registry.list(), [{ name: 'fraud', versions: [1, 2, 3], aliases: {} }]);
    });

    it('gives concurrent registrations different numbers, never overwriting one model with another', async (t) => {
      const { registry } = await backend.create(t);
      const models = [V1, V2, buildMlp({ ...MLP, seed: 9 }), buildMlp({ ...MLP, seed: 10 })];
      const results = await Promise.all(models.map((bytes, i) => registerModel(registry, { name: 'fraud', bytes, source: `m${i}.onnx`, by: `p${i}` })));
      assert.deepEqual(results.map((r) => r.record.version).sort(), [1, 2, 3, 4]);
      for (const [i, r] of results.entries()) {
        const bytes = await registry.readModel(await registry.resolve({ name: 'fraud', kind: 'version', version: r.record.version }));
        assert.equal(sha(bytes), sha(models[i] as Uint8Array), `version ${r.record.version} holds the model its registrar sent`);
      }
    });

    it('promotes, moves and rolls back an alias, keeping every move in the history', async (t) => {
      const { registry } = await backend.create(t);
      for (const bytes of [V1, V2]) await registerModel(registry, { name: 'fraud', bytes, source: 'm.onnx', by: 'ana' });
      const m1 = await registry.promote('fraud', 1, 'champion', { by: 'ana', reason: 'first release' });
      assert.deepEqual([m1.changed, m1.record.version, m1.record.previous, m1.record.generation], [true, 1, null, 1]);
      const m2 = await registry.promote('fraud', 2, 'champion', { by: 'bo', reason: 'better auc' });
      assert.deepEqual([m2.record.version, m2.record.previous, m2.record.movedBy, m2.record.reason], [2, 1, 'bo', 'better auc']);
      const same = await registry.promote('fraud', 2, 'champion', { by: 'bo' });
      assert.equal(same.changed, false, 'promoting to the current version writes nothing');

      const resolved = await registry.resolve(parseModelRef('fraud@champion'));
      assert.deepEqual([resolved.version, resolved.alias, resolved.record.sha256], [2, 'champion', sha(V2)]);

      const back = await registry.rollback('fraud', 'champion', { by: 'cy', reason: 'false positives' });
      assert.deepEqual([back.record.version, back.record.previous, back.record.reason], [1, 2, 'rollback from version 2: false positives']);
      assert.equal((await registry.resolve(parseModelRef('fraud@champion'))).version, 1);

      const history = await registry.history('fraud');
      assert.deepEqual(
        history.map((h) => [h.alias, h.version, h.previous, h.movedBy]),
        [
          ['champion', 1, null, 'ana'],
          ['champion', 2, 1, 'bo'],
          ['champion', 1, 2, 'cy'],
        ],
      );
      assert.deepEqual(await registry.list('fraud'), [{ name: 'fraud', versions: [1, 2], aliases: { champion: 1 } }]);
    });

    for (const existing of [false, true]) {
      it(`lets exactly one of two concurrent promoters win (${existing ? 'moving an alias' : 'creating it'}); the other is told the current version`, async (t) => {
        const { registry } = await backend.create(t);
        for (const bytes of [V1, V2, buildMlp({ ...MLP, seed: 9 })]) await registerModel(registry, { name: 'fraud', bytes, source: 'm.onnx', by: 'ana' });
        if (existing) await registry.promote('fraud', 1, 'champion', { by: 'ana' });
        // Both promoters read the alias before either writes: the race the CAS must settle.
        let arrived = 0;
        let release!: () => void;
        const bothRead = new Promise<void>((r) => (release = r));
        const beforeWrite = async (): Promise<void> => {
          if (++arrived === 2) release();
          await bothRead;
        };
        const outcomes = await Promise.allSettled([
          registry.promote('fraud', 2, 'champion', { by: 'ana', beforeWrite }),
          registry.promote('fraud', 3, 'champion', { by: 'bo', beforeWrite }),
        ]);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        assert.equal(won.length, 1, `exactly one winner: ${JSON.stringify(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'won')))}`);
        assert.equal(lost.length, 1);
        const winner = (won[0] as PromiseFulfilledResult<{ record: { version: number } }>).value.record.version;
        const err = lost[0]?.reason as unknown;
        assert.ok(err instanceof AliasConflictError, String(err));
        assert.equal(err.current, winner);
        assert.match(
          err.message,
          new RegExp(`fraud@champion changed while you moved it to version ${winner === 2 ? 3 : 2}: .* moved it to version ${winner} .*nothing was changed`),
        );
        assert.equal((await registry.resolve(parseModelRef('fraud@champion'))).version, winner);
        const history = await registry.history('fraud');
        assert.deepEqual(
          history.map((h) => h.version),
          existing ? [1, winner] : [winner],
          'history shows the one move that happened',
        );
      });
    }

    it('refuses bad input with a clear error and changes nothing', async (t) => {
      const { registry, uri, stores } = await backend.create(t);
      await registerModel(registry, { name: 'fraud', bytes: V1, source: 'v1.onnx', by: 'ana', alias: 'champion' });
      const before = await snapshot(registry);
      const refuse = async (what: string, fn: () => Promise<unknown>, kind: new (...a: never[]) => Error, message: RegExp): Promise<void> => {
        await assert.rejects(fn(), (err: unknown) => {
          assert.ok(err instanceof kind, `${what}: expected ${kind.name}, got ${String(err)}`);
          assert.match(err.message, message, what);
          return true;
        });
        assert.deepEqual(await snapshot(registry), before, `${what}: the registry is unchanged`);
      };
      const reg = (bytes: Uint8Array) => () => registerModel(registry, { name: 'fraud', bytes, source: 'bad.onnx', by: 'ana' });
      await refuse(
        'a non-ONNX file',
        reg(Buffer.from('id,score\n1,0.5\n')),
        ModelError,
        /model bad\.onnx (is not a valid ONNX model|cannot be loaded by onnxruntime)/,
      );
      await refuse(
        'a truncated model',
        reg(V1.subarray(0, Math.floor(V1.length / 2))),
        ModelError,
        /model bad\.onnx (is not a valid ONNX model|cannot be loaded by onnxruntime)/,
      );
      await refuse('an empty file', reg(new Uint8Array(0)), ModelError, /model bad\.onnx is empty/);
      await refuse('a model with external data', reg(externalModel()), ModelError, /keeps 1 tensor\(s\) in external data files/);
      await refuse(
        'a bad alias name',
        () => registerModel(registry, { name: 'fraud', bytes: V2, source: 'v2.onnx', by: 'ana', alias: '7' }),
        RegistryError,
        /alias "7": expected/,
      );
      await refuse(
        'an unknown name',
        () => registry.resolve(parseModelRef('nope@champion')),
        RegistryNotFoundError,
        /no model named "nope" in .* \(models: fraud\)/,
      );
      await refuse(
        'an unknown alias',
        () => registry.resolve(parseModelRef('fraud@staging')),
        RegistryNotFoundError,
        /model fraud has no alias "staging" .*aliases: champion → 1/,
      );
      await refuse(
        'an unknown version',
        () => registry.resolve(parseModelRef('fraud@9')),
        RegistryNotFoundError,
        /model fraud has no version 9 in .* \(versions: 1\)/,
      );
      await refuse(
        'a promotion to a missing version',
        () => registry.promote('fraud', 4, 'champion', { by: 'ana' }),
        RegistryNotFoundError,
        /model fraud has no version 4/,
      );
      await refuse(
        'a rollback with nothing to roll back to',
        () => registry.rollback('fraud', 'champion', { by: 'ana' }),
        RegistryError,
        /fraud@champion has never moved .*nothing was changed/,
      );
      await refuse('history of an unknown model', () => registry.history('nope'), RegistryNotFoundError, /no model named "nope"/);
      await refuse('a reference without @', async () => parseModelRef('fraud'), RegistryError, /expected name@alias or name@version/);
      await refuse('a missing registry URI', () => openRegistry(undefined, stores), RegistryError, /no model registry given: pass --registry/);
      const missing = uri.startsWith('s3://') ? 's3://no-such-bucket-here/models/' : path.join(uri, 'no-such-folder');
      await refuse('a registry that does not exist', () => openRegistry(missing, stores), RegistryNotFoundError, /registry .* does not exist/);

      // Corrupt records: reading them fails naming the object; moves over them change nothing.
      await registry.store.write(`${registry.prefix}fraud/versions/1/version.json`, '{"format":1,"name":"fraud"', {});
      await registry.store.write(`${registry.prefix}fraud/aliases/champion.json`, '{"format":1,"version":"x"}', {});
      const corrupt = await snapshot(registry);
      await assert.rejects(registry.resolve(parseModelRef('fraud@1')), /fraud\/versions\/1\/version\.json is corrupt: not valid JSON/);
      await assert.rejects(registry.resolve(parseModelRef('fraud@champion')), /fraud\/aliases\/champion\.json is corrupt: .*version/);
      await assert.rejects(registry.promote('fraud', 1, 'champion', { by: 'ana' }), RegistryError);
      assert.deepEqual(await snapshot(registry), corrupt, 'nothing changed over corrupt records');
    });
  });
}

describe('model references', () => {
  it('parses name@alias and name@version, refusing ambiguous or unsafe names', () => {
    assert.deepEqual(parseModelRef('fraud@champion'), { name: 'fraud', kind: 'alias', alias: 'champion' });
    assert.deepEqual(parseModelRef('fraud@7'), { name: 'fraud', kind: 'version', version: 7 });
    assert.throws(() => parseModelRef('fraud@0'), /versions start at 1/);
    assert.throws(() => parseModelRef('../x@1'), /model name "\.\.\/x"/);
    assert.throws(() => parseModelRef('fraud@Champion'), /alias "Champion"/);
  });

  it('a registry folder given as a path works without a trailing slash', async (t) => {
    const dir = await tempDir(t, 'registry');
    await writeFile(path.join(dir, 'README'), 'not a model');
    const stores = new Stores();
    t.after(() => stores.close());
    const registry = await openRegistry(dir, stores);
    assert.deepEqual(await registry.list(), []);
  });
});

/** Add(x, w) where w's floats are "stored" in an external file. */
function externalModel(): Uint8Array {
  const w = {
    name: 'w',
    dims: [1, 8],
    dataType: onnx.TensorProto.DataType.FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: 'weights.bin' },
      { key: 'offset', value: '0' },
      { key: 'length', value: '32' },
    ],
  };
  return encodeModel({
    graphName: 'external',
    nodes: [makeNode('Add', ['features', 'w'], ['sum']), makeNode('ReduceSum', ['sum'], ['score'])],
    inputs: [tensorInfo('features', 'float32', ['N', 8])],
    outputs: [tensorInfo('score', 'float32', ['N', 1])],
    initializers: [w],
  });
}
