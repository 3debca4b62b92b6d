import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { LocalStore } from '../src/storage/local-store.js';

it('local store: cancels temp files of unfinished writes it owns, nothing else', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ns-tmp-'));
  const store = new LocalStore(dir);
  await writeFile(path.join(dir, '.nightshift-tmp-abc123-part-00000-a1-0000.csv'), 'half');
  await writeFile(path.join(dir, '.nightshift-tmp-def456-part-00000-a2-0000.csv'), 'other attempt');
  await store.write('part-00001-a1-0000.csv', 'complete\n');
  const removed = await store.abortIncompleteWrites('', (key) => key.includes('-a1-'));
  assert.equal(removed, 1);
  assert.deepEqual((await readdir(dir)).sort(), ['.nightshift-tmp-def456-part-00000-a2-0000.csv', 'part-00001-a1-0000.csv']);
  // An in-flight write is invisible to list() until it completes.
  const body = new PassThrough();
  const pending = store.write('part-00002-a1-0000.csv', body);
  body.write('partial');
  const listed: string[] = [];
  for await (const o of store.list('')) listed.push(o.key);
  assert.deepEqual(listed, ['part-00001-a1-0000.csv']);
  body.end();
  await pending;
});
