/**
 * Model registries for tests, on each store the registry runs on: a local folder, and s3rver
 * behind the test proxy's conditional-write layer (s3rver ignores If-Match / If-None-Match).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { openRegistry } from '../../src/registry/open-registry.js';
import type { ModelRegistry } from '../../src/registry/model-registry.js';
import { Stores } from '../../src/storage/stores.js';
import { tempDir } from './jobs.js';
import { createBucket, type S3Server } from './s3.js';

export interface RegistryBackend {
  readonly label: string;
  /** A fresh, empty registry: its URI, the stores to reach it, and the opened registry. */
  create(t: TestContext): Promise<{ uri: string; stores: Stores; registry: ModelRegistry }>;
}

export const localBackend: RegistryBackend = {
  label: 'local folder',
  async create(t) {
    const dir = path.join(await tempDir(t, 'registry'), 'models');
    await mkdir(dir);
    const stores = new Stores();
    t.after(() => stores.close());
    return { uri: dir, stores, registry: await openRegistry(dir, stores) };
  },
};

/** `endpoint`: where the S3 client goes (the conditional-write proxy in front of `s3`). */
export function s3Backend(getS3: () => S3Server, getEndpoint: () => string): RegistryBackend {
  return {
    label: 's3rver (conditional writes by the test proxy)',
    async create(t) {
      const bucket = await createBucket(getS3(), 'registry');
      const stores = new Stores({ ...getS3().settings, endpoint: getEndpoint() });
      t.after(() => stores.close());
      const uri = `s3://${bucket}/models/`;
      return { uri, stores, registry: await openRegistry(uri, stores) };
    },
  };
}

/** Every object of a registry, key → content, to show that a failed command changed nothing. */
export async function snapshot(registry: ModelRegistry): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { readAll } = await import('../../src/storage/object-store.js');
  for await (const o of registry.store.list(registry.prefix)) out.set(o.key, (await readAll(await registry.store.read(o.key))).toString('base64'));
  return out;
}
