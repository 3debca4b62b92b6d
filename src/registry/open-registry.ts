/**
 * Opens the registry a URI names (s3://bucket/prefix/, file:///path or a path), after checking
 * that it exists: a typo in a registry URI must fail, not create or read an empty registry.
 */
import { stat } from 'node:fs/promises';
import { RegistryError, RegistryNotFoundError, UriError } from '../core/errors.js';
import { formatLocation, parseLocation } from '../spec/uri.js';
import type { Stores } from '../storage/stores.js';
import { ModelRegistry } from './model-registry.js';

/** Where the registry is when a command or job does not say: NIGHTSHIFT_REGISTRY. */
export function defaultRegistryUri(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.NIGHTSHIFT_REGISTRY?.trim();
  return v ? v : undefined;
}

export async function openRegistry(uri: string | undefined, stores: Stores, baseDir = process.cwd()): Promise<ModelRegistry> {
  if (!uri) throw new RegistryError('no model registry given: pass --registry <uri> (s3://bucket/prefix/ or a folder) or set NIGHTSHIFT_REGISTRY');
  let loc;
  try {
    loc = parseLocation(uri.endsWith('/') ? uri : `${uri}/`, baseDir);
  } catch (err) {
    if (err instanceof UriError) throw new RegistryError(`registry ${err.message}`);
    throw err;
  }
  const display = formatLocation(loc);
  if (loc.kind === 'file') {
    const s = await stat(loc.path).catch(() => undefined);
    if (!s?.isDirectory()) throw new RegistryNotFoundError(`registry ${display} does not exist (no such folder); create it first (mkdir -p ${loc.path})`);
  }
  const { store, key } = stores.resolve(loc);
  if (loc.kind === 's3') {
    try {
      // One listing call: fails for a bucket that does not exist or cannot be read.
      for await (const _ of store.list(key)) break;
    } catch (err) {
      const text = (err as Error).message;
      if (/NoSuchBucket/.test(text)) throw new RegistryNotFoundError(`registry ${display} does not exist (no bucket ${loc.bucket})`, { cause: err });
      throw err;
    }
  }
  return new ModelRegistry(store, key, display);
}
