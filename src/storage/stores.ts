/**
 * Turns locations into (store, key) pairs, creating one S3 client per process and reusing it.
 * The AWS SDK is loaded when a bucket is first used: a worker scoring local files never loads it
 * (~0.1 s of start-up). Release with close() when the process is done.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Location } from '../spec/uri.js';
import { LocalStore } from './local-store.js';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions, WriteResult } from './object-store.js';
import { s3SettingsFromEnv, type S3Settings } from './s3-config.js';

export interface StoreRef {
  readonly store: ObjectStore;
  readonly key: string;
}

export class Stores {
  private client: S3Client | undefined;
  private readonly s3 = new Map<string, LazyS3Store>();
  private readonly local = new LocalStore('/');
  private settings: S3Settings | undefined;

  constructor(settings?: S3Settings) {
    this.settings = settings;
  }

  resolve(loc: Location): StoreRef {
    if (loc.kind === 'file') return { store: this.local, key: loc.path.replace(/^\/+/, '') };
    let store = this.s3.get(loc.bucket);
    if (!store) {
      const settings = (this.settings ??= s3SettingsFromEnv());
      const bucket = loc.bucket;
      store = new LazyS3Store(bucket, async () => {
        const { createS3Client, S3Store } = await import('./s3-store.js');
        this.client ??= createS3Client(settings);
        return new S3Store(this.client, bucket, settings.partSizeBytes);
      });
      this.s3.set(bucket, store);
    }
    return { store, key: loc.key };
  }

  /** Explicit S3 settings, if this instance was given any (threads must use the same). */
  get explicitSettings(): S3Settings | undefined {
    return this.settings;
  }

  close(): void {
    this.client?.destroy();
    this.client = undefined;
    this.s3.clear();
  }
}

/** One bucket's S3Store, created (and the SDK loaded) on the first call that needs it. */
class LazyS3Store implements ObjectStore {
  readonly name: string;
  private store: Promise<ObjectStore> | undefined;

  constructor(
    bucket: string,
    private readonly open: () => Promise<ObjectStore>,
  ) {
    this.name = `s3://${bucket}`;
  }

  private get inner(): Promise<ObjectStore> {
    if (!this.store) {
      this.store = this.open();
      this.store.catch(() => (this.store = undefined));
    }
    return this.store;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    yield* (await this.inner).list(prefix, signal);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.inner).head(key);
  }

  async read(key: string, options?: ReadOptions): Promise<Readable> {
    return (await this.inner).read(key, options);
  }

  async write(key: string, body: Readable | Uint8Array | string, options?: WriteOptions): Promise<WriteResult> {
    return (await this.inner).write(key, body, options);
  }

  async delete(key: string): Promise<void> {
    return (await this.inner).delete(key);
  }

  async abortIncompleteWrites(prefix: string, owned: (key: string) => boolean): Promise<number> {
    return (await this.inner).abortIncompleteWrites(prefix, owned);
  }

  close(): void {
    // The S3Stores share the client Stores owns; Stores.close() destroys it.
    void this.store?.then(
      (s) => s.close(),
      () => undefined,
    );
  }
}
