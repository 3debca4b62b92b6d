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
  /**
   * Conditional writes, for what must not race another writer (`_SUCCESS`, aliases): replace
   * the object only if its current ETag is this one (as `head()` or an earlier `write()` gave
   * it), or create it only if no object has the key (`'*'`). A failed condition, including
   * `ifMatch` on a missing object, throws PreconditionFailedError and leaves the object as it
   * was. At most one of the two.
   */
  readonly ifMatch?: string;
  readonly ifNoneMatch?: '*';
}

export interface WriteResult {
  /** The ETag of the object just written (undefined if the service did not return one). */
  readonly etag: string | undefined;
}

export interface ObjectStore {
  /** For messages: "s3://bucket" or "file://". Never contains credentials. */
  readonly name: string;
  /** All objects whose key starts with `prefix`, in key order. */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** The object's size and ETag, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** A stream of the object's bytes. The caller must consume or destroy it. */
  read(key: string, options?: ReadOptions): Promise<Readable>;
  /** Writes an object; it becomes visible only once complete (multipart upload / rename). */
  write(key: string, body: Readable | Uint8Array | string, options?: WriteOptions): Promise<WriteResult>;
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
