/**
 * The model registry: versions and aliases kept as objects on any store nightshift reads (an S3
 * bucket or a local folder), no extra service.
 *
 *   <registry>/<name>/versions/<n>/model.onnx     the model, written once (If-None-Match: *)
 *   <registry>/<name>/versions/<n>/<file>         attached files (baseline, metrics), written once
 *   <registry>/<name>/versions/<n>/version.json   written last: a version exists iff this does
 *   <registry>/<name>/aliases/<alias>.json        replaced by compare-and-swap (If-Match: ETag)
 *   <registry>/<name>/history/<alias>/<gen>.json  one record per move, written once
 *
 * Versions are immutable: every write under versions/ is create-only, so two people registering
 * at once get two numbers, never one overwritten model. Alias moves are conditional writes on
 * the alias object; the loser of a race gets an AliasConflictError naming the current version.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AliasConflictError, PreconditionFailedError, RegistryError, RegistryNotFoundError } from '../core/errors.js';
import { readAll, type ObjectStore } from '../storage/object-store.js';
import { checkAliasName, checkModelName, type ModelRef } from '../spec/model-ref.js';
import {
  aliasRecordSchema,
  parseRecord,
  signatureChanges,
  versionRecordSchema,
  type AliasRecord,
  type AttachedFile,
  type ModelSignature,
  type VersionRecord,
} from './registry-records.js';

/** A version number is taken by a concurrent registration: try the next, this many times. */
const REGISTER_TRIES = 20;

export interface RegisterInput {
  readonly name: string;
  /** The model's bytes, already checked (inspectModel) and described by `signature`. */
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly signature: ModelSignature;
  readonly by: string;
  readonly description?: string;
  readonly source?: string;
  /** Extra files stored with the version, by name (e.g. baseline.json, metrics.json). */
  readonly files?: Readonly<Record<string, { readonly bytes: Uint8Array; readonly sha256: string }>>;
}

export interface Registered {
  readonly record: VersionRecord;
  /** The previous version's number and how its signature differs (empty when it does not). */
  readonly previous: { readonly version: number; readonly changes: readonly string[] } | undefined;
}

export interface MoveOptions {
  readonly by: string;
  readonly reason?: string;
  /** Called after the alias was read and before it is written (tests line up races with it). */
  readonly beforeWrite?: () => Promise<void>;
}

export interface Moved {
  readonly record: AliasRecord;
  /** False when the alias already pointed to the version (nothing was written). */
  readonly changed: boolean;
}

export interface Resolved {
  readonly name: string;
  readonly version: number;
  readonly alias: string | undefined;
  readonly record: VersionRecord;
  /** The model object's key in the registry's store. */
  readonly modelKey: string;
}

export interface ModelSummary {
  readonly name: string;
  readonly versions: number[];
  readonly aliases: Record<string, number>;
}

export class ModelRegistry {
  /**
   * `prefix` is the registry's key prefix in `store` ('' or ending in '/'); `uri` names it in
   * messages (never with credentials).
   */
  constructor(
    readonly store: ObjectStore,
    readonly prefix: string,
    readonly uri: string,
  ) {}

  private key(...parts: (string | number)[]): string {
    return this.prefix + parts.join('/');
  }

  private where(key: string): string {
    return `${this.store.name}/${key}`;
  }

  /** The key of a version's model object (what a job's shards read). */
  modelKey(name: string, version: number): string {
    return this.key(name, 'versions', version, 'model.onnx');
  }

  // ---- versions -----------------------------------------------------------------------

  async register(input: RegisterInput): Promise<Registered> {
    checkModelName(input.name);
    for (const file of Object.keys(input.files ?? {})) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(file) || file === 'model.onnx' || file === 'version.json') {
        throw new RegistryError(`attached file name "${file}": expected letters, digits, ".", "-" and "_", not model.onnx or version.json`);
      }
    }
    const known = await this.versionNumbers(input.name, { includeIncomplete: true });
    let version = (known.at(-1) ?? 0) + 1;
    for (let tries = 0; ; tries++, version++) {
      try {
        // The model object claims the number: create-only, so a concurrent registration that
        // picked the same number fails here and moves on to the next one.
        await this.store.write(this.modelKey(input.name, version), input.bytes, { ifNoneMatch: '*', contentType: 'application/octet-stream' });
        break;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || tries + 1 >= REGISTER_TRIES) throw err;
      }
    }
    const files: Record<string, AttachedFile> = {};
    for (const [file, f] of Object.entries(input.files ?? {})) {
      await this.store.write(this.key(input.name, 'versions', version, file), f.bytes, { ifNoneMatch: '*' });
      files[file] = { file, sha256: f.sha256, size: f.bytes.length };
    }
    const record: VersionRecord = {
      format: 1,
      name: input.name,
      version,
      sha256: input.sha256,
      size: input.bytes.length,
      createdAt: new Date().toISOString(),
      createdBy: input.by,
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.source !== undefined ? { source: input.source } : {}),
      signature: input.signature,
      files,
    };
    await this.store.write(this.key(input.name, 'versions', version, 'version.json'), `${JSON.stringify(record, null, 2)}\n`, {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
    const earlier = (await this.versionNumbers(input.name)).filter((v) => v < version).at(-1);
    let previous: Registered['previous'];
    if (earlier !== undefined) {
      previous = { version: earlier, changes: signatureChanges((await this.version(input.name, earlier)).signature, input.signature) };
    }
    return { record, previous };
  }

  /** Registered versions of a model, ascending (`includeIncomplete`: also numbers whose version.json is missing). */
  async versionNumbers(name: string, opts: { includeIncomplete?: boolean } = {}): Promise<number[]> {
    const base = this.key(name, 'versions/');
    const found = new Set<number>();
    for await (const o of this.store.list(base)) {
      const m = /^(\d+)\/(.+)$/.exec(o.key.slice(base.length));
      if (m && (opts.includeIncomplete || m[2] === 'version.json')) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  async version(name: string, version: number): Promise<VersionRecord> {
    const key = this.key(name, 'versions', version, 'version.json');
    const text = await this.readText(key);
    if (text === undefined) {
      const versions = await this.versionNumbers(name);
      if (versions.length === 0) throw await this.unknownModel(name);
      throw new RegistryNotFoundError(`model ${name} has no version ${version} in ${this.uri} (versions: ${rangeText(versions)})`);
    }
    const record = parseRecord(versionRecordSchema, text, this.where(key));
    if (record.name !== name || record.version !== version) {
      throw new RegistryError(`${this.where(key)} is corrupt: it describes ${record.name}@${record.version}; nothing was changed`);
    }
    return record;
  }

  /** A reference to the version it names now: the one a run pins. */
  async resolve(ref: ModelRef): Promise<Resolved> {
    let version: number;
    let alias: string | undefined;
    if (ref.kind === 'version') version = ref.version;
    else {
      const a = await this.alias(ref.name, ref.alias);
      if (!a) throw await this.unknownAlias(ref.name, ref.alias);
      version = a.record.version;
      alias = ref.alias;
    }
    const record = await this.version(ref.name, version);
    return { name: ref.name, version, alias, record, modelKey: this.modelKey(ref.name, version) };
  }

  /**
   * A file attached to a version (e.g. baseline.json), checked against the sha256 its version
   * record lists; undefined when the version has no such file.
   */
  async attachedFile(name: string, version: number, file: string): Promise<{ uri: string; text: string } | undefined> {
    const record = await this.version(name, version);
    const listed = record.files[file];
    if (!listed) return undefined;
    const key = this.key(name, 'versions', version, file);
    const bytes = await readAll(await this.store.read(key));
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== listed.sha256)
      throw new RegistryError(
        `${this.where(key)} has sha256 ${sha}, but ${name}@${version}'s version.json records ${listed.sha256}: the attached file was changed`,
      );
    return { uri: this.where(key), text: bytes.toString('utf8') };
  }

  async readModel(resolved: Resolved): Promise<Buffer> {
    return readAll(await this.store.read(resolved.modelKey));
  }

  // ---- aliases ------------------------------------------------------------------------

  /** The alias record and its ETag (what a move must match), or undefined if there is none. */
  async alias(name: string, alias: string): Promise<{ record: AliasRecord; etag: string | undefined } | undefined> {
    const key = this.key(name, 'aliases', `${checkAliasName(alias)}.json`);
    const info = await this.store.head(key);
    if (!info) return undefined;
    const text = await this.readText(key);
    if (text === undefined) return undefined;
    const record = parseRecord(aliasRecordSchema, text, this.where(key));
    // The ETag read with head() must be the one of the bytes read: if the alias moved between the
    // two calls, read again (a move is rare; this loop ends).
    const after = await this.store.head(key);
    if (after?.etag !== info.etag) return this.alias(name, alias);
    return { record, etag: info.etag };
  }

  async aliases(name: string): Promise<AliasRecord[]> {
    const base = this.key(name, 'aliases/');
    const out: AliasRecord[] = [];
    for await (const o of this.store.list(base)) {
      const m = /^([^/]+)\.json$/.exec(o.key.slice(base.length));
      if (!m) continue;
      const a = await this.alias(name, m[1] as string);
      if (a) out.push(a.record);
    }
    return out;
  }

  /** Points `alias` at `version`, if nobody moved it since it was read (compare-and-swap). */
  async promote(name: string, version: number, alias: string, opts: MoveOptions): Promise<Moved> {
    checkAliasName(alias);
    await this.version(name, version); // names the versions there are if this one is not
    const current = await this.alias(name, alias);
    if (current?.record.version === version) return { record: current.record, changed: false };
    return this.move(name, alias, version, current, opts.reason ?? `promoted to version ${version}`, opts);
  }

  /** Moves the alias back to the version it pointed to before its last move. */
  async rollback(name: string, alias: string, opts: MoveOptions): Promise<Moved> {
    const current = await this.alias(name, checkAliasName(alias));
    if (!current) throw await this.unknownAlias(name, alias);
    const back = current.record.previous;
    if (back === null)
      throw new RegistryError(
        `${name}@${alias} has never moved (version ${current.record.version} since ${current.record.movedAt}): there is nothing to roll back to; nothing was changed`,
      );
    await this.version(name, back);
    const reason = `rollback from version ${current.record.version}${opts.reason ? `: ${opts.reason}` : ''}`;
    return this.move(name, alias, back, current, reason, opts);
  }

  private async move(
    name: string,
    alias: string,
    version: number,
    current: { record: AliasRecord; etag: string | undefined } | undefined,
    reason: string,
    opts: MoveOptions,
  ): Promise<Moved> {
    const key = this.key(name, 'aliases', `${alias}.json`);
    if (current && current.etag === undefined) throw new RegistryError(`${this.where(key)}: the store returned no ETag, so the alias cannot be moved safely`);
    // A mover that died between its alias write and its history write left the history one
    // entry short: the alias record itself is that entry.
    if (current) await this.writeHistory(current.record);
    const record: AliasRecord = {
      format: 1,
      name,
      alias,
      version,
      previous: current?.record.version ?? null,
      generation: (current?.record.generation ?? 0) + 1,
      movedAt: new Date().toISOString(),
      movedBy: opts.by,
      reason,
      moveId: randomBytes(8).toString('hex'),
    };
    await opts.beforeWrite?.();
    try {
      await this.store.write(key, `${JSON.stringify(record, null, 2)}\n`, {
        contentType: 'application/json',
        ...(current ? { ifMatch: current.etag as string } : { ifNoneMatch: '*' as const }),
      });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const now = await this.alias(name, alias);
      // A retried request can report a lost condition for a write that landed: our own move.
      if (now?.record.moveId !== record.moveId) {
        const moved = now
          ? `${now.record.movedBy} moved it to version ${now.record.version} at ${now.record.movedAt} (${now.record.reason})`
          : 'it was deleted';
        throw new AliasConflictError(
          `${name}@${alias} changed while you moved it to version ${version}: ${moved}; nothing was changed by you — check it and try again if you still want version ${version}`,
          now?.record.version,
        );
      }
    }
    await this.writeHistory(record);
    return { record, changed: true };
  }

  private async writeHistory(record: AliasRecord): Promise<void> {
    const key = this.key(record.name, 'history', record.alias, `${String(record.generation).padStart(8, '0')}.json`);
    try {
      await this.store.write(key, `${JSON.stringify(record, null, 2)}\n`, { ifNoneMatch: '*', contentType: 'application/json' });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // already recorded
    }
  }

  /** Every move of every alias of the model, oldest first (append-only). */
  async history(name: string): Promise<AliasRecord[]> {
    await this.ensureModel(name);
    const base = this.key(name, 'history/');
    const seen = new Map<string, AliasRecord>();
    for await (const o of this.store.list(base)) {
      const text = await this.readText(o.key);
      if (text === undefined) continue;
      const r = parseRecord(aliasRecordSchema, text, this.where(o.key));
      seen.set(`${r.alias}\0${r.generation}`, r);
    }
    // The latest move of an alias whose mover died before writing its history entry.
    for (const a of await this.aliases(name)) if (!seen.has(`${a.alias}\0${a.generation}`)) seen.set(`${a.alias}\0${a.generation}`, a);
    return [...seen.values()].sort((a, b) => (a.movedAt === b.movedAt ? a.generation - b.generation : a.movedAt < b.movedAt ? -1 : 1));
  }

  // ---- listing ------------------------------------------------------------------------

  async list(name?: string): Promise<ModelSummary[]> {
    if (name !== undefined) {
      await this.ensureModel(name);
      return [await this.summary(name)];
    }
    const names = new Set<string>();
    for await (const o of this.store.list(this.prefix)) {
      const m = /^([^/]+)\/versions\/\d+\/version\.json$/.exec(o.key.slice(this.prefix.length));
      if (m) names.add(m[1] as string);
    }
    const out: ModelSummary[] = [];
    for (const n of [...names].sort()) out.push(await this.summary(n));
    return out;
  }

  private async summary(name: string): Promise<ModelSummary> {
    const aliases = Object.fromEntries((await this.aliases(name)).map((a) => [a.alias, a.version]));
    return { name, versions: await this.versionNumbers(name), aliases };
  }

  // ---- helpers ------------------------------------------------------------------------

  private async readText(key: string): Promise<string | undefined> {
    try {
      return (await readAll(await this.store.read(key))).toString('utf8');
    } catch (err) {
      if ((await this.store.head(key).catch(() => undefined)) === undefined) return undefined;
      throw err;
    }
  }

  private async ensureModel(name: string): Promise<void> {
    checkModelName(name);
    if ((await this.versionNumbers(name)).length === 0) throw await this.unknownModel(name);
  }

  private async unknownModel(name: string): Promise<RegistryNotFoundError> {
    const names = (await this.list()).map((m) => m.name);
    return new RegistryNotFoundError(`no model named "${name}" in ${this.uri}${names.length ? ` (models: ${names.join(', ')})` : ' (the registry is empty)'}`);
  }

  private async unknownAlias(name: string, alias: string): Promise<RegistryNotFoundError> {
    await this.ensureModel(name);
    const aliases = (await this.aliases(name)).map((a) => `${a.alias} → ${a.version}`);
    return new RegistryNotFoundError(
      `model ${name} has no alias "${alias}" in ${this.uri} (${aliases.length ? `aliases: ${aliases.join(', ')}` : 'it has no aliases yet: promote a version first'})`,
    );
  }
}

/** "1-3, 5" style text of version numbers. */
function rangeText(versions: readonly number[]): string {
  if (versions.length === 0) return 'none';
  const out: string[] = [];
  let start = versions[0] as number;
  let prev = start;
  for (const v of [...versions.slice(1), Number.NaN]) {
    if (v === prev + 1) {
      prev = v;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}-${prev}`);
    start = prev = v;
  }
  return out.join(', ');
}
