/**
 * Conditional writes of the object-store port (If-Match / If-None-Match), on both stores: the
 * local folder store, and S3 through the test proxy's conditional-write layer in front of
 * s3rver (which has none of its own), by single PUT and by multipart upload. What fenced
 * publishing relies on: a lost condition throws PreconditionFailedError and changes nothing,
 * and of writers racing on the same ETag exactly one wins.
 *
 *   node --import tsx --test test/conditional-writes.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { PreconditionFailedError } from '../src/core/errors.js';
import { LocalStore } from '../src/storage/local-store.js';
import { readAll, type ObjectStore } from '../src/storage/object-store.js';
import { s3SettingsFromEnv } from '../src/storage/s3-config.js';
import { Stores } from '../src/storage/stores.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/jobs.js';
import { createBucket, startS3, type S3Server } from './helpers/s3.js';

let s3: S3Server;
let proxy: FaultProxy;
let stores: Stores;
before(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
  stores = new Stores(s3SettingsFromEnv({ NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint, NIGHTSHIFT_S3_PART_SIZE_MB: '5' }));
});
after(async () => {
  stores.close();
  await proxy.close();
  await s3.stop();
});

async function text(store: ObjectStore, key: string): Promise<string> {
  return (await readAll(await store.read(key))).toString('utf8');
}

const STORES: Record<string, (t: TestContext) => Promise<ObjectStore>> = {
  local: async (t) => new LocalStore(await tempDir(t, 'cond')),
  's3 (s3rver behind the conditional-write proxy)': async () => stores.resolve({ kind: 's3', bucket: await createBucket(s3, 'cond'), key: '' }).store,
};

for (const [name, open] of Object.entries(STORES)) {
  describe(`conditional writes: ${name}`, () => {
    it('If-None-Match * creates once; the second create fails and changes nothing', async (t) => {
      const store = await open(t);
      const first = await store.write('run/_SUCCESS', 'a1', { ifNoneMatch: '*' });
      assert.ok(first.etag);
      await assert.rejects(
        store.write('run/_SUCCESS', 'a2', { ifNoneMatch: '*' }),
        (err: unknown) => err instanceof PreconditionFailedError && err.key === 'run/_SUCCESS',
      );
      assert.equal(await text(store, 'run/_SUCCESS'), 'a1');
      assert.equal((await store.head('run/_SUCCESS'))?.etag, first.etag, 'head() gives the ETag write() returned');
    });

    it('If-Match replaces only the version it read; a stale or missing ETag fails', async (t) => {
      const store = await open(t);
      const v1 = await store.write('k', 'one');
      const v2 = await store.write('k', 'two', { ifMatch: (await store.head('k'))!.etag! });
      assert.notEqual(v2.etag, v1.etag);
      await assert.rejects(store.write('k', 'three', { ifMatch: v1.etag! }), PreconditionFailedError);
      assert.equal(await text(store, 'k'), 'two');
      await assert.rejects(store.write('missing', 'x', { ifMatch: v1.etag! }), PreconditionFailedError);
      assert.equal(await store.head('missing'), undefined);
    });

    it('of 8 writers racing on one ETag, exactly one wins', async (t) => {
      const store = await open(t);
      const base = await store.write('race', 'base');
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.write('race', `w${i}`, { ifMatch: base.etag! })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `winners: ${won.join(',')}`);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      assert.equal(await text(store, 'race'), `w${won[0]}`);
      const creates = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.write('fresh', `c${i}`, { ifNoneMatch: '*' })));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
    });
  });
}

describe('conditional writes: S3 multipart upload', () => {
  it('the condition is checked at CompleteMultipartUpload', async () => {
    const store = stores.resolve({ kind: 's3', bucket: await createBucket(s3, 'condmp'), key: '' }).store;
    const big = Buffer.alloc(6 * 1024 * 1024, 'x'); // > 5 MiB part size: multipart
    const completes = proxy.count('CompleteMultipartUpload');
    const refusedBefore = proxy.conditionalWrites().refused;
    const first = await store.write('big', big, { ifNoneMatch: '*' });
    assert.equal(proxy.count('CompleteMultipartUpload'), completes + 1, 'uploaded by multipart');
    await assert.rejects(store.write('big', Buffer.alloc(6 * 1024 * 1024, 'y'), { ifNoneMatch: '*' }), PreconditionFailedError);
    await assert.rejects(store.write('big', Buffer.alloc(6 * 1024 * 1024, 'z'), { ifMatch: '"0123"' }), PreconditionFailedError);
    assert.equal(proxy.conditionalWrites().refused, refusedBefore + 2);
    assert.equal((await store.head('big'))?.etag, first.etag);
    const head = (await readAll(await store.read('big', { range: { start: 0, end: 3 } }))).toString();
    assert.equal(head, 'xxxx');
  });
});
