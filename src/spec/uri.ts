/**
 * Storage locations named in specs and on the command line: s3://bucket/key, file:///abs/path,
 * or a plain path (resolved against a base directory, e.g. the spec file's folder).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UriError } from '../core/errors.js';

export type Location = { readonly kind: 's3'; readonly bucket: string; readonly key: string } | { readonly kind: 'file'; readonly path: string };

export function parseLocation(uri: string, baseDir: string): Location {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const key = slash === -1 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new UriError(`"${uri}": "${bucket}" is not a valid bucket name`);
    }
    checkKey(uri, key);
    return { kind: 's3', bucket, key };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new UriError(`"${uri}": unsupported scheme (expected s3://, file:// or a path)`);
  }
  const raw = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(baseDir, uri);
  // Keep a trailing slash: it marks a prefix.
  const p = uri.endsWith('/') && !raw.endsWith('/') ? `${raw}/` : raw;
  return { kind: 'file', path: p };
}

function checkKey(uri: string, key: string): void {
  if (key.startsWith('/')) throw new UriError(`"${uri}": object keys cannot start with "/"`);
  if (key.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new UriError(`"${uri}": object keys cannot contain "." or ".." segments`);
  }
}

export function formatLocation(loc: Location): string {
  return loc.kind === 's3' ? `s3://${loc.bucket}/${loc.key}` : loc.path;
}

/** Appends a relative name to a prefix location. */
export function childLocation(prefix: Location, name: string): Location {
  if (prefix.kind === 's3') {
    const base = prefix.key === '' || prefix.key.endsWith('/') ? prefix.key : `${prefix.key}/`;
    return { kind: 's3', bucket: prefix.bucket, key: base + name };
  }
  return { kind: 'file', path: path.join(prefix.path, name) };
}

/** True when `inner` is equal to or inside `outer` (both as prefixes). */
export function isWithin(inner: Location, outer: Location): boolean {
  const norm = (l: Location): string => {
    const s = l.kind === 's3' ? `s3://${l.bucket}/${l.key}` : `file://${l.path}`;
    return s.endsWith('/') ? s : `${s}/`;
  };
  return norm(inner).startsWith(norm(outer));
}
