/**
 * A real S3 endpoint on loopback for tests: s3rver on 127.0.0.1, port 0, backed by a temp folder.
 * Each test creates its own bucket; the server also logs every request line it receives, so a
 * test can check how an object was uploaded (single PUT vs multipart) without mocking the SDK.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { S3Settings } from '../../src/storage/s3-config.js';
import { Stores } from '../../src/storage/stores.js';

export const PART_SIZE_BYTES = 5 * 1024 * 1024;

export interface S3Server {
  readonly endpoint: string;
  /** S3 settings pointing at this server, as nightshift's Stores takes them. */
  readonly settings: S3Settings;
  /** A plain SDK client for arranging and inspecting buckets. */
  readonly client: S3Client;
  /** "METHOD /path?query" of every request received, in order. */
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  // The SDK's default credential chain reads these; s3rver accepts exactly this pair.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [] });
  const address = await server.run();
  const requests: string[] = [];
  server.httpServer?.on('request', (req: IncomingMessage) => requests.push(`${req.method ?? '?'} ${req.url ?? ''}`));
  const endpoint = `http://127.0.0.1:${address.port}`;
  const settings: S3Settings = { endpoint, region: 'us-east-1', forcePathStyle: true, checksums: 'WHEN_REQUIRED', partSizeBytes: PART_SIZE_BYTES };
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    settings,
    client,
    requests,
    async stop() {
      client.destroy();
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** nightshift's store factory configured for this server. Close it when done. */
export function storesFor(s3: S3Server): Stores {
  return new Stores({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, checksums: 'WHEN_REQUIRED', partSizeBytes: PART_SIZE_BYTES });
}

/** Creates a fresh bucket with a random name (valid: lowercase, ≥ 3 characters). */
export async function createBucket(s3: S3Server, label = 'test'): Promise<string> {
  const bucket = `${label}-${randomBytes(5).toString('hex')}`;
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function putObject(s3: S3Server, bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** The object's bytes, or undefined when it does not exist. */
export async function getObject(s3: S3Server, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) return Buffer.alloc(0);
    return Buffer.from(await res.Body.transformToByteArray());
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export async function getText(s3: S3Server, bucket: string, key: string): Promise<string> {
  const body = await getObject(s3, bucket, key);
  if (body === undefined) throw new Error(`s3://${bucket}/${key} does not exist`);
  return body.toString('utf8');
}

/** Every key under a prefix, in key order. */
export async function listKeys(s3: S3Server, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of res.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}
