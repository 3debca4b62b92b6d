/**
 * The dashboard's static files, shipped with the package (no CDN): its own script and stylesheet
 * (src/dashboard/assets/, listed in package.json `files`) and uPlot from node_modules. Only the
 * names below are served; each is read once and answered with an ETag.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/dashboard/ and dist/dashboard/ are both two levels below the package root. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OWN = path.join(PACKAGE_ROOT, 'src', 'dashboard', 'assets');

function uplotDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('uplot'));
}

const FILES: Record<string, { file: () => string; type: string }> = {
  'dashboard.js': { file: () => path.join(OWN, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { file: () => path.join(OWN, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { file: () => path.join(uplotDir(), 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: () => path.join(uplotDir(), 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const cache = new Map<string, Promise<Asset>>();

/** The asset by name, or undefined for any name not in the list. */
export function asset(name: string): Promise<Asset> | undefined {
  const entry = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!entry) return undefined;
  let p = cache.get(name);
  if (!p) {
    p = readFile(entry.file()).then((body) => ({ body, type: entry.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }));
    // A failed read (file missing from a broken install) is tried again next time.
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}
