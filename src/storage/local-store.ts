/**
 * Object store over a local folder: a real feature (try nightshift without any service, score
 * files on a shared disk), with the same visibility rule as S3: writes go to a temp file and
 * are renamed into place only when complete.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions } from './object-store.js';

const TEMP_MARK = '.nightshift-tmp-';

export class LocalStore implements ObjectStore {
  readonly name: string;
  /** Keys are paths relative to `root`. */
  constructor(private readonly root: string) {
    this.name = `file://${root}`;
  }

  private abs(key: string): string {
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root.endsWith(path.sep) ? this.root : this.root + path.sep)) {
      throw new Error(`key "${key}" escapes the store root`);
    }
    return p;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk from the deepest existing folder of the prefix, then filter by the full prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash === -1 ? '' : prefix.slice(0, slash + 1);
    const found: ObjectInfo[] = [];
    await this.walk(dirKey, found);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const o of found) if (o.key.startsWith(prefix)) yield o;
  }

  private async walk(dirKey: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.abs(dirKey || '.'), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      const key = dirKey + e.name;
      if (e.isDirectory()) await this.walk(`${key}/`, out);
      else if (e.isFile() && !e.name.includes(TEMP_MARK)) out.push({ key, size: (await stat(this.abs(key))).size });
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.abs(key));
      return s.isFile() ? { key, size: s.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const file = this.abs(key);
    await stat(file); // fail here, with ENOENT, rather than later in the stream
    const r = options.range;
    return createReadStream(file, {
      ...(r ? { start: r.start, end: r.end } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      highWaterMark: 1024 * 1024, // see open-input.ts
    });
  }

  async write(key: string, body: Readable | Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const file = this.abs(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `${TEMP_MARK}${randomBytes(6).toString('hex')}-${path.basename(file)}`);
    const source = body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body]);
    try {
      await pipeline(source, createWriteStream(tmp), ...(options.signal ? [{ signal: options.signal }] as const : []));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.abs(key), { force: true });
  }

  async abortIncompleteWrites(prefix: string, owned: (key: string) => boolean): Promise<number> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash === -1 ? '' : prefix.slice(0, slash + 1);
    let entries;
    try {
      entries = await readdir(this.abs(dirKey || '.'), { withFileTypes: true });
    } catch {
      return 0;
    }
    let removed = 0;
    for (const e of entries) {
      // Temp files are named <mark><random>-<final name>: judge ownership by the final key.
      const m = e.isFile() ? new RegExp(`^${TEMP_MARK.replace(/\./g, '\\.')}[0-9a-f]+-(.+)$`).exec(e.name) : null;
      if (!m || !owned(dirKey + (m[1] ?? ''))) continue;
      await rm(this.abs(dirKey + e.name), { force: true });
      removed++;
    }
    return removed;
  }

  close(): void {}
}
