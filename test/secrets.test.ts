/**
 * Secrets stay where they were given. A worker process and the CLI run jobs end to end (s3rver,
 * a redis-server with a password) with distinctive secrets in their environment: the S3 secret
 * key, the Redis password (in NIGHTSHIFT_REDIS_URL) and the API token. One run succeeds, one
 * fails on bad data, one fails in its plan (a model that does not exist). Then everything they
 * wrote is searched: process output, every object in the bucket, and every Redis key and value
 * (BullMQ jobs, failure reasons, stack traces, events, the run registry). No secret may appear.
 * The processes log in as a least-privilege ACL user, which checks the ACL documented for
 * operators along the way.
 *
 *   node --import tsx --test test/secrets.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { buildMlp } from '../scripts/models/models.js';
import { redactUrl } from '../src/queue/redis-config.js';
import { DATE, MLP, MLP_HEADER, mlpRows, mlpSpec, tempDir, toCsv, writeJob } from './helpers/jobs.js';
import { runCli, startRedisOn } from './helpers/redis-process.js';
import { createBucket, getObject, listKeys, putObject, startS3 } from './helpers/s3.js';
import { freePort, randomPrefix, spawnWorker } from './helpers/workers.js';

const SECRETS = {
  awsSecretKey: 'aws-SECRET-9f2c7e41d0b8a6',
  /** The password of the `nightshift` ACL user that workers and the CLI log in as. */
  redisPassword: 'redis-SECRET-3b8e1f0a9c7d52',
  /** The default user's password (requirepass), used only by this test to set up and inspect. */
  redisAdminPassword: 'redis-ADMIN-SECRET-51e0c2a7',
  apiToken: 'api-SECRET-7d41c9e2b0f3a8e6',
} as const;

/**
 * The least-privilege Redis ACL documented for nightshift: its own key prefix only, no pub/sub
 * channels, data commands plus scripting, transactions and blocking pops, nothing dangerous
 * (FLUSHALL, KEYS, DEBUG, CONFIG…) but INFO, which BullMQ reads on connect. Not CONFIG GET: it
 * would reveal requirepass; the worker then says it cannot check maxmemory-policy. The run below
 * logs in as this user, so the ACL is known to be enough: ACL LOG may hold only that CONFIG GET.
 */
function workerAcl(prefix: string, password: string): string[] {
  return [
    'nightshift',
    'reset',
    'on',
    `>${password}`,
    `~${prefix}:*`,
    'resetchannels',
    '-@all',
    '+@read',
    '+@write',
    '+@scripting',
    '+@transaction',
    '+@connection',
    '+@blocking',
    '-@dangerous',
    '+info',
  ];
}

/** Each secret as it could appear: plain, URL-encoded, base64. */
const NEEDLES: readonly { what: string; text: string }[] = Object.entries(SECRETS).flatMap(([what, s]) => [
  { what, text: s },
  { what: `${what} (url-encoded)`, text: encodeURIComponent(s) },
  { what: `${what} (base64)`, text: Buffer.from(s).toString('base64') },
]);

function secretsIn(text: string): string[] {
  return NEEDLES.filter((n) => text.includes(n.text)).map((n) => n.what);
}

/** Every key (name and value, read with the command its type needs) of the whole server. */
async function dumpRedis(redis: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.getBuffer(key).then((b) => b?.toString('latin1'));
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else throw new Error(`key ${key}: unexpected type ${type}`);
      out.set(key, `${type} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return out;
}

describe('secrets', () => {
  it('redactUrl removes a Redis password, even one holding "@", "/" or ":", and keeps the rest of the URL', () => {
    const cases: [string, string][] = [
      ['redis://:s3cret@host:6379/0', 'redis://:***@host:6379/0'],
      ['redis://app:p@ss@host:6379', 'redis://app:***@host:6379'],
      ['rediss://app:pa/ss:w@cache.internal:6380/2', 'rediss://app:***@cache.internal:6380/2'],
      ['redis://:p%40ss@host', 'redis://:***@host'],
      ['redis://tokenonly@host', 'redis://***@host'],
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ];
    assert.deepEqual(
      cases.map(([url]) => redactUrl(url)),
      cases.map(([, redacted]) => redacted),
    );
  });

  it('never reach worker or CLI output, output objects, or any Redis key (a good run, a bad-data run, a failed plan)', { timeout: 90_000 }, async (t) => {
    const s3 = await startS3();
    t.after(() => s3.stop());
    const redisServer = await startRedisOn(await freePort(), ['--appendonly', 'no'], SECRETS.redisAdminPassword);
    t.after(() => redisServer.handle.kill());
    const redis = new Redis(redisServer.url, { password: SECRETS.redisAdminPassword, maxRetriesPerRequest: 1 });
    t.after(() => redis.quit());
    const prefix = randomPrefix('secrets');
    await redis.call('ACL', 'SETUSER', ...workerAcl(prefix, SECRETS.redisPassword));
    const redisUrl = redisServer.url.replace('redis://', `redis://nightshift:${SECRETS.redisPassword}@`);

    // The scan must see every kind of value: plant one of each, find each, then remove them.
    const canary = 'canary-7a0e';
    await redis
      .multi()
      .set('c:string', canary)
      .hset('c:hash', 'f', canary)
      .rpush('c:list', canary)
      .sadd('c:set', canary)
      .zadd('c:zset', 1, canary)
      .xadd('c:stream', '*', 'f', canary)
      .exec();
    const planted = [...(await dumpRedis(redis))].filter(([, v]) => v.includes(canary)).map(([k]) => k);
    assert.deepEqual(planted.sort(), ['c:hash', 'c:list', 'c:set', 'c:stream', 'c:string', 'c:zset']);
    await redis.del('c:string', 'c:hash', 'c:list', 'c:set', 'c:zset', 'c:stream');

    const bucket = await createBucket(s3, 'secrets');
    await putObject(s3, bucket, 'models/mlp.onnx', buildMlp(MLP));
    const rows = mlpRows(300, { seed: 8 });
    const someBad = rows.map((r, i) => (i % 50 === 7 ? [...r.slice(0, 5), 'n/a', ...r.slice(6)] : r)); // an errors file too
    await putObject(s3, bucket, `in/${DATE}/good.csv`, toCsv(MLP_HEADER, someBad));
    const broken = toCsv(MLP_HEADER, rows).split('\n');
    broken[100] = `bad,"never closed,${'1,'.repeat(7)}1`;
    await putObject(s3, bucket, 'in/2026-11-29/broken.csv', broken.join('\n'));
    const dir = await tempDir(t, 'secrets');
    const spec = mlpSpec();
    spec.name = 'secret-job';
    spec.model.uri = `s3://${bucket}/models/mlp.onnx`;
    spec.input.uri = `s3://${bucket}/in/{{date}}/`;
    spec.output.uri = `s3://${bucket}/out/{{date}}/`;
    const good = await writeJob(dir, spec, 'good.yaml');
    const noModel = await writeJob(
      dir,
      {
        ...spec,
        name: 'no-model',
        model: { ...spec.model, uri: `s3://${bucket}/models/missing.onnx` },
        output: { uri: `s3://${bucket}/out-missing/{{date}}/` },
      },
      'no-model.yaml',
    );

    const env = {
      NIGHTSHIFT_REDIS_URL: redisUrl,
      NIGHTSHIFT_REDIS_PREFIX: prefix,
      NIGHTSHIFT_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: SECRETS.awsSecretKey, // s3rver does not check SigV4 signatures
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_API_TOKEN: SECRETS.apiToken,
      NIGHTSHIFT_SHARD_ATTEMPTS: '2',
    };
    const worker = await spawnWorker({ prefix, redisUrl, env });
    t.after(() => worker.kill());

    const [ok, badData, badPlan] = await Promise.all([
      runCli(['trigger', good.file, '--date', DATE, '--wait'], env),
      runCli(['trigger', good.file, '--date', '2026-11-29', '--wait'], env),
      runCli(['trigger', noModel.file, '--date', DATE, '--wait'], env),
    ]);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /secret-job@2026-11-28 a1\S* succeeded/);
    assert.equal(badData.code, 3, badData.output);
    assert.match(badData.output, /failed: .*broken\.csv:101: a quoted field is never closed/);
    assert.equal(badPlan.code, 3, badPlan.output);
    assert.match(badPlan.output, /failed: .*missing\.onnx cannot be read/);

    worker.signal('SIGTERM');
    assert.equal((await worker.waitForExit(30_000)).code, 0, worker.output);

    const denied = ((await redis.call('ACL', 'LOG')) as unknown[][]).map((entry) => entry[entry.indexOf('object') + 1]);
    assert.deepEqual([...new Set(denied)], ['config|get'], 'the ACL refused nothing but the eviction check');
    assert.match(
      worker.output,
      /cannot read Redis maxmemory-policy \(CONFIG GET refused\): make sure it is \\"noeviction\\"/,
      'the warning, as a JSON log line',
    );

    const leaks: string[] = [];
    const check = (where: string, text: string): void => {
      for (const s of secretsIn(text)) leaks.push(`${s} in ${where}`);
    };
    check('worker output', worker.output);
    for (const [name, r] of Object.entries({ ok, badData, badPlan })) check(`CLI output (${name})`, r.output);
    const objects = await listKeys(s3, bucket);
    assert.ok(
      objects.some((k) => k.endsWith('/_SUCCESS')) && objects.some((k) => /\/errors-/.test(k)) && objects.some((k) => k.startsWith('out-missing/')),
      `objects: ${objects.join(', ')}`,
    );
    for (const key of objects) check(`s3://${bucket}/${key}`, ((await getObject(s3, bucket, key)) ?? Buffer.alloc(0)).toString('latin1'));
    const keys = await dumpRedis(redis);
    assert.ok(
      [...keys.keys()].some((k) => k.includes(':shards:')) && [...keys.values()].some((v) => v.includes('never closed')),
      'BullMQ jobs and failure reasons were scanned',
    );
    for (const [key, value] of keys) check(`Redis key ${key}`, `${key} ${value}`);
    assert.deepEqual(leaks, []);
  });
});
