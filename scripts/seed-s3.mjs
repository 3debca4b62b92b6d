// The docker-compose `seed` service (plain JavaScript: it runs in the production image, which has
// no TypeScript tooling): creates the bucket and uploads the demo model and input files, so
// jobs/example-s3.yaml has something to score. Idempotent: run it again and it replaces the files.
//
//   SEED_DIR=/app/data SEED_BUCKET=nightshift node scripts/seed-s3.mjs
//
// S3 settings as nightshift reads them: NIGHTSHIFT_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY. Waits up to SEED_WAIT_MS (60000) for the S3 server to answer.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const dir = path.resolve(process.env.SEED_DIR ?? 'data');
const bucket = process.env.SEED_BUCKET ?? 'nightshift';
const waitMs = Number(process.env.SEED_WAIT_MS ?? 60_000);
const endpoint = process.env.NIGHTSHIFT_S3_ENDPOINT;
const client = new S3Client({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

async function ensureBucket() {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
      return 'exists';
    } catch (err) {
      const status = err?.$metadata?.httpStatusCode;
      if (status === 404 || err?.name === 'NotFound' || err?.name === 'NoSuchBucket') {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        return 'created';
      }
      if (Date.now() > deadline) throw new Error(`S3 at ${endpoint ?? 'AWS'} did not answer within ${waitMs} ms: ${err?.message ?? err}`, { cause: err });
      process.stdout.write(`waiting for S3 at ${endpoint ?? 'AWS'} (attempt ${attempt}: ${err?.name ?? 'error'})\n`);
      await sleep(1_000);
    }
  }
}

async function* files(root) {
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (entry.isFile()) yield p;
  }
}

const state = await ensureBucket();
let n = 0;
for await (const file of files(dir)) {
  const key = path.relative(dir, file).split(path.sep).join('/');
  // Outputs of an earlier local demo are not seed data.
  if (key.startsWith('output/')) continue;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
  n++;
}
process.stdout.write(`bucket ${bucket} ${state}; uploaded ${n} file(s) from ${dir}\n`);
client.destroy();
