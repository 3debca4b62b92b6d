/**
 * Object store over a local folder: a real feature (try nightshift without any service, score
 * files on a shared disk), with the same visibility rule as S3: writes go to a temp file and
 * are renamed into place only when complete.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AccessError, PreconditionFailedError } from '../core/errors.js';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions, WriteResult } from './object-store.js';

const TEMP_MARK = '.nightshift-tmp-';
const LOCAL_ACCESS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);
/** Lock files for If-Match writes: `<TEMP_MARK>lock-<name>` (hidden from list, never aborted). */
const LOCK_MARK = `${TEMP_MARK}lock-`;
/** A lock older than this was left by a killed process: a conditional write takes far less. */
const STALE_LOCK_MS = 30_000;

/**
 * A file's ETag: every write renames a new file into place, so inode + size + mtime (ns) change
 * whenever the content may have; cheap, and stable while the file is untouched.
 */
function etagOf(s: BigIntStats): string {
  return `"${s.ino.toString(16)}-${s.size.toString(16)}-${s.mtimeNs.toString(16)}"`;
}

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
      else if (e.isFile() && !e.name.includes(TEMP_MARK)) {
        // A file deleted since readdir (a concurrent cleanup) is simply not listed.
        const s = await stat(this.abs(key), { bigint: true }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (s) out.push({ key, size: Number(s.size), etag: etagOf(s) });
      }
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.abs(key), { bigint: true });
      return s.isFile() ? { key, size: Number(s.size), etag: etagOf(s) } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const file = this.abs(key);
    await stat(file).catch((err: NodeJS.ErrnoException) => {
      // Fail here rather than later in the stream. A local path is this machine's: a missing one
      // may be a mount another worker has (an AccessError lets a worker hand the job on).
      if (err.code && LOCAL_ACCESS_CODES.has(err.code))
        throw new AccessError(file, `${file}: ${err.code === 'ENOENT' ? 'no such file on this machine' : 'permission denied'} (${err.code})`, { cause: err });
      throw err;
    });
    const r = options.range;
    return createReadStream(file, {
      ...(r ? { start: r.start, end: r.end } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      highWaterMark: 1024 * 1024, // see open-input.ts
    });
  }

  async write(key: string, body: Readable | Uint8Array | string, options: WriteOptions = {}): Promise<WriteResult> {
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) throw new Error(`write ${this.name}/${key}: ifMatch and ifNoneMatch together`);
    const file = this.abs(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `${TEMP_MARK}${randomBytes(6).toString('hex')}-${path.basename(file)}`);
    const source = body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body]);
    try {
      await pipeline(source, createWriteStream(tmp), ...(options.signal ? ([{ signal: options.signal }] as const) : []));
      // Rename and link keep the inode and mtime: the temp file's ETag is the object's.
      const etag = etagOf(await stat(tmp, { bigint: true }));
      if (options.ifNoneMatch !== undefined) await this.createExclusive(key, tmp, file);
      else if (options.ifMatch !== undefined) await this.replaceIfMatch(key, tmp, file, options.ifMatch);
      else await rename(tmp, file);
      return { etag };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** link() fails with EEXIST if the name is taken: an atomic create-if-absent. */
  private async createExclusive(key: string, tmp: string, file: string): Promise<void> {
    try {
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new PreconditionFailedError(key, `write ${this.name}/${key}: If-None-Match * failed (the object exists)`);
      throw err;
    }
  }

  /** Compare and rename under a per-key lock file, so no other conditional write interleaves. */
  private async replaceIfMatch(key: string, tmp: string, file: string, ifMatch: string): Promise<void> {
    const release = await this.lock(file);
    try {
      const current = await stat(file, { bigint: true }).then(etagOf, (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (current !== ifMatch)
        throw new PreconditionFailedError(
          key,
          `write ${this.name}/${key}: If-Match ${ifMatch} failed (${current ? `the ETag is ${current}` : 'no such object'})`,
        );
      await rename(tmp, file);
    } finally {
      await release();
    }
  }

  private async lock(file: string): Promise<() => Promise<void>> {
    const lockFile = path.join(path.dirname(file), `${LOCK_MARK}${path.basename(file)}`);
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        const handle = await open(lockFile, 'wx');
        await handle.close();
        return () => rm(lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const age = await stat(lockFile).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rm(lockFile, { force: true });
      else await new Promise((r) => setTimeout(r, wait));
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
