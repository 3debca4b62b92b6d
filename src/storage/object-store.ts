/** The object-store port: everything nightshift needs from S3 or a local folder. */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string | undefined;
}

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

export interface ReadOptions {
  readonly range?: ByteRange;
  readonly signal?: AbortSignal;
}

export interface WriteOptions {
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

export interface ObjectStore {
  /** For messages: "s3://bucket" or "file://". Never contains credentials. */
  readonly name: string;
  /** All objects whose key starts with `prefix`, in key order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** A stream of the object's bytes. The caller must consume or destroy it. */
  read(key: string, options?: ReadOptions): Promise<Readable>;
  /** Writes an object; it becomes visible only once complete (multipart upload / rename). */
  write(key: string, body: Readable | Uint8Array | string, options?: WriteOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Cancels writes under `prefix` that never completed (a worker killed mid-upload), for keys
   * that `owned` accepts; returns how many. Their bytes were never visible, but they cost storage.
   */
  abortIncompleteWrites(prefix: string, owned: (key: string) => boolean): Promise<number>;
  close(): void;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}
