/**
 * Resolves a job's input URI for one run into the list of objects to score: a prefix (every
 * object under it), a glob in the last segment, or a single object.
 */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { staticPrefix } from '../spec/load-spec.js';
import { formatLocation, parseLocation, type Location } from '../spec/uri.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Stores } from '../storage/stores.js';

export interface InputObject {
  readonly store: ObjectStore;
  readonly location: Location;
  readonly key: string;
  readonly display: string;
  readonly size: number;
}

export async function resolveInputs(uri: string, baseDir: string, stores: Stores, signal?: AbortSignal): Promise<InputObject[]> {
  const isGlob = /[*?[]/.test(uri);
  const isPrefix = !isGlob && uri.endsWith('/');
  const base = parseLocation(isGlob ? staticPrefix(uri) : uri, baseDir);
  const { store, key } = stores.resolve(base);
  const toObject = (k: string, size: number): InputObject => {
    const location: Location = base.kind === 's3' ? { kind: 's3', bucket: base.bucket, key: k } : { kind: 'file', path: `/${k}` };
    return { store, location, key: k, display: formatLocation(location), size };
  };
  if (!isGlob && !isPrefix) {
    const info = await store.head(key);
    if (!info) throw new InputError({ object: formatLocation(base) }, 'the input object does not exist');
    return [toObject(key, info.size)];
  }
  const matcher = isGlob ? globMatcher(uri.slice(uri.lastIndexOf('/') + 1)) : undefined;
  const found: InputObject[] = [];
  for await (const o of store.list(key, signal)) {
    const name = o.key.slice(o.key.lastIndexOf('/') + 1);
    // Markers and hidden files (_SUCCESS, .DS_Store, "folder/" placeholders) are not data.
    if (name === '' || name.startsWith('_') || name.startsWith('.')) continue;
    if (matcher) {
      const rest = o.key.slice(key.length);
      if (rest.includes('/') || !matcher.test(name)) continue;
    }
    found.push(toObject(o.key, o.size));
  }
  if (found.length === 0)
    throw new InputError(
      { object: formatLocation(base) + (isGlob ? path.posix.basename(uri) : '') },
      'no input objects found (has the data for this date landed?)',
    );
  return found;
}

function globMatcher(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[' || ch === ']')
      re += ch; // character classes pass through
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
