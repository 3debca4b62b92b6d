/**
 * Turns locations into (store, key) pairs, creating one S3 client per process and reusing it.
 * Release with close() when the process is done.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Location } from '../spec/uri.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { s3SettingsFromEnv, type S3Settings } from './s3-config.js';
import { createS3Client, S3Store } from './s3-store.js';

export interface StoreRef {
  readonly store: ObjectStore;
  readonly key: string;
}

export class Stores {
  private client: S3Client | undefined;
  private readonly s3 = new Map<string, S3Store>();
  private readonly local = new LocalStore('/');
  private settings: S3Settings | undefined;

  constructor(settings?: S3Settings) {
    this.settings = settings;
  }

  resolve(loc: Location): StoreRef {
    if (loc.kind === 'file') return { store: this.local, key: loc.path.replace(/^\/+/, '') };
    let store = this.s3.get(loc.bucket);
    if (!store) {
      this.settings ??= s3SettingsFromEnv();
      this.client ??= createS3Client(this.settings);
      store = new S3Store(this.client, loc.bucket, this.settings.partSizeBytes);
      this.s3.set(loc.bucket, store);
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
