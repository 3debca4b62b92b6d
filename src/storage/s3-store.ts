/** Object store over any S3-compatible service (AWS, MinIO, R2, s3rver). */
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as SmithyHttp from '@smithy/node-http-handler';
import { Readable, Transform } from 'node:stream';
import { requireCommonJs } from '../core/commonjs.js';
import { AccessError, PreconditionFailedError, TransientError } from '../core/errors.js';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions, WriteResult } from './object-store.js';
import { DEFAULT_S3_IDLE_TIMEOUT_MS, type S3Settings } from './s3-config.js';

// The SDK is CommonJS: require() spares every worker ~0.1 s of start-up (see core/commonjs.ts).
const {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} = requireCommonJs('@aws-sdk/client-s3') as typeof ClientS3;
type S3Client = ClientS3.S3Client;
const { Upload } = requireCommonJs('@aws-sdk/lib-storage') as typeof LibStorage;
const { NodeHttpHandler } = requireCommonJs('@smithy/node-http-handler') as typeof SmithyHttp;

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: settings.checksums,
    responseChecksumValidation: settings.checksums,
    maxAttempts: 5,
    // socketTimeout is the idle timeout: a connection that sends nothing for this long (a server
    // that hangs, or a body that stalls half-way) fails instead of hanging the worker. It must
    // be socketTimeout: in @smithy/node-http-handler 4.x, requestTimeout only covers the time to
    // the response headers and, without throwOnRequestTimeout, merely logs a warning.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, socketTimeout: settings.idleTimeoutMs ?? DEFAULT_S3_IDLE_TIMEOUT_MS }),
  });
}

export class S3Store implements ObjectStore {
  readonly name: string;
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly partSizeBytes: number,
    private readonly ownsClient = false,
  ) {
    this.name = `s3://${bucket}`;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const res = await this.call(
        `list ${prefix}`,
        () =>
          this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
            signal ? { abortSignal: signal } : {},
          ),
        prefix,
      );
      for (const o of res.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag };
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, etag: r.ETag };
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return undefined;
      throw classifyS3Error(err, `head ${this.name}/${key}`, `${this.name}/${key}`);
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const r = options.range;
    const res = await this.call(
      `read ${this.name}/${key}`,
      () =>
        this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(r ? { Range: `bytes=${r.start}-${r.end}` } : {}) }),
          options.signal ? { abortSignal: options.signal } : {},
        ),
      key,
    );
    if (!(res.Body instanceof Readable)) throw new Error(`read ${this.name}/${key}: the S3 client returned no Node stream`);
    return guardBody(res.Body, res.ContentLength, `read ${this.name}/${key}`);
  }

  async write(key: string, body: Readable | Uint8Array | string, options: WriteOptions = {}): Promise<WriteResult> {
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) throw new Error(`write ${this.name}/${key}: ifMatch and ifNoneMatch together`);
    const upload = new Upload({
      client: this.client,
      // lib-storage passes the params on to PutObject and CompleteMultipartUpload: the condition
      // is checked when the object would become visible, whichever way it was uploaded.
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
        ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
        ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
      },
      partSize: this.partSizeBytes,
      queueSize: 2,
      // Abort the multipart upload on failure so no parts are left behind and nothing is visible.
      leavePartsOnError: false,
    });
    const onAbort = (): void => void upload.abort().catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const what = `write ${this.name}/${key}`;
    try {
      const res = await upload.done();
      return { etag: res.ETag };
    } catch (err) {
      throw preconditionFailure(err, key, what, options) ?? classifyS3Error(err, what, `${this.name}/${key}`);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(`delete ${this.name}/${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })), key);
  }

  async abortIncompleteWrites(prefix: string, owned: (key: string) => boolean): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.call(`list multipart uploads ${this.name}/${prefix}`, () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !owned(u.Key)) continue;
        await this.call(`abort upload ${this.name}/${u.Key}`, () =>
          this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId })),
        );
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** `key`: the object or prefix concerned, named by an AccessError (a worker's self-check heads it). */
  private async call<T>(what: string, fn: () => Promise<T>, key = ''): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyS3Error(err, what, `${this.name}/${key}`);
    }
  }
}

/**
 * The body of a GetObject, as callers should see it. The SDK retries a request only until its
 * headers arrive; a connection dropped or timed out mid-body surfaces as a bare "aborted" or
 * TimeoutError from the stream, so errors are classified here (a retryable TransientError naming
 * the object), and an end before Content-Length bytes is an error too, never a short read.
 * Destroying the returned stream destroys the body, so its connection is closed rather than
 * held, unread, out of the client's pool.
 */
function guardBody(body: Readable, expected: number | undefined, what: string): Readable {
  let received = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(expected !== undefined && received !== expected ? new TransientError(`${what}: the body ended after ${received} of ${expected} bytes`) : null);
    },
  });
  body.on('error', (err) => out.destroy(classifyS3Error(err, what)));
  out.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}

/**
 * A lost condition: 412 (ETag differs or the key exists), 409 ConditionalRequestConflict (a
 * concurrent conditional write won) and, for If-Match, 404 (there is nothing to match). The SDK
 * may also retry a PUT whose first try succeeded but whose answer was lost, and see its own write
 * as a lost condition: callers re-read the object before they conclude they lost.
 */
function preconditionFailure(err: unknown, key: string, what: string, options: WriteOptions): PreconditionFailedError | undefined {
  if (options.ifMatch === undefined && options.ifNoneMatch === undefined) return undefined;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const code = (err as { name?: string }).name ?? '';
  const lost =
    status === 412 ||
    code === 'PreconditionFailed' ||
    code === 'ConditionalRequestConflict' ||
    (options.ifMatch !== undefined && (status === 404 || code === 'NoSuchKey'));
  if (!lost) return undefined;
  const condition = options.ifMatch !== undefined ? `If-Match ${options.ifMatch}` : 'If-None-Match *';
  return new PreconditionFailedError(key, `${what}: ${condition} failed (${code || status})`, { cause: err });
}

/** Refusals of this process's credentials or permissions: another worker may have working ones. */
const ACCESS_CODES = new Set([
  'InvalidAccessKeyId',
  'AccessDenied',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'AllAccessDisabled',
  'AccountProblem',
  // The SDK's credential chain found nothing (no env, profile or role on this machine).
  'CredentialsProviderError',
]);

export const NO_CREDENTIALS =
  'no S3 credentials found on this machine; the AWS SDK looks in AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, AWS_PROFILE (~/.aws/credentials, ~/.aws/config, SSO), AWS_WEB_IDENTITY_TOKEN_FILE, then the container or EC2 instance role: set one of them';

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
]);

/**
 * One place that decides which S3 failures are worth retrying, and which are this process's
 * access problem (`uri`: the object concerned, for the AccessError).
 */
export function classifyS3Error(err: unknown, what: string, uri = what): Error {
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const code = (err as { code?: string; name?: string }).code ?? (err as { name?: string }).name ?? '';
  const message = err instanceof Error ? err.message : String(err);
  // The SDK's own text ("Could not load credentials from any providers") does not say where it
  // looked; a user setting nightshift up for the first time needs exactly that, in one line.
  if (code === 'CredentialsProviderError') return new AccessError(uri, `${what}: ${NO_CREDENTIALS}`, { cause: err });
  // A 403 without a body (HEAD) has no code: its status says enough.
  if (status === 403 || ACCESS_CODES.has(code)) {
    return new AccessError(uri, `${what}: ${code && code !== 'Unknown' ? code : `HTTP ${status ?? '?'}`}: ${message}`, { cause: err });
  }
  if ((status !== undefined && (status >= 500 || status === 429)) || TRANSIENT_CODES.has(code)) {
    return new TransientError(`${what}: ${code || status} ${message}`, { cause: err });
  }
  if (err instanceof Error && err.name === 'AbortError') return err;
  return new Error(`${what}: ${code ? `${code}: ` : ''}${message}`, { cause: err });
}
