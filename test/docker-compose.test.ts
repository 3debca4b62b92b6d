/**
 * docker-compose.yml, Dockerfile, .env.example and jobs/example-s3.yaml, checked without a
 * Docker engine (none on these machines): the compose file is parsed and every service, image,
 * healthcheck, dependency, variable, file and port it references is checked; the Dockerfile's
 * Node version and user; then the compose sequence itself, seed → worker → trigger, runs against
 * s3rver (behind the test proxy, which adds S3's conditional writes) and Redis, with the same
 * seed script, job spec and commands the containers run.
 *
 *   node --import tsx --test test/docker-compose.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildMlp } from '../scripts/models/models.js';
import { writeSampleCsv } from '../scripts/sample-data.js';
import { loadJobFile } from '../src/spec/load-spec.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { runCli } from './helpers/redis-process.js';
import { getObject, getText, startS3, type S3Server } from './helpers/s3.js';
import { writeIn } from './helpers/jobs.js';
import { ChildHandle, openQueueHarness, REPO_ROOT, spawnCli, type QueueHarness } from './helpers/workers.js';
import { spawn, spawnSync } from 'node:child_process';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  ports?: string[];
  volumes?: string[];
  configs?: { source: string; target: string }[];
}

const read = (f: string): Promise<string> => readFile(path.join(REPO_ROOT, f), 'utf8');

let compose: { services: Record<string, Service>; configs: Record<string, { content: string }>; volumes: Record<string, unknown> };
let composeText: string;
let envExample: Map<string, string>;

before(async () => {
  composeText = await read('docker-compose.yml');
  compose = parse(composeText, { merge: true }) as typeof compose;
  envExample = new Map(
    (await read('.env.example'))
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
});

describe('docker-compose.yml (parsed; no Docker engine here)', () => {
  it('has the services a new user needs, each pinned, restarting, and healthy before its dependants start', () => {
    const s = compose.services;
    assert.deepEqual(Object.keys(s).sort(), ['api', 'redis', 's3', 'scheduler', 'seed', 'worker']);
    for (const [name, svc] of Object.entries(s)) {
      const image = svc.image ?? '';
      if (svc.build === undefined) {
        // A pulled image has an explicit version: no :latest, no bare name.
        assert.match(image, /^[a-z0-9./-]+:\d[\w.-]*$/, `${name}: image "${image}" is pinned to a version`);
      }
      assert.doesNotMatch(image, /minio/, `${name}: MinIO images are gone from Docker Hub`);
      assert.equal(svc.restart, name === 'seed' ? 'no' : 'unless-stopped', `${name}: restart`);
    }
    for (const name of ['redis', 's3', 'worker', 'api']) assert.ok(s[name]?.healthcheck?.test.length, `${name} has a healthcheck`);
    assert.deepEqual(s.seed?.depends_on, { s3: { condition: 'service_healthy' } });
    assert.deepEqual(s.worker?.depends_on, { redis: { condition: 'service_healthy' }, seed: { condition: 'service_completed_successfully' } });
    for (const name of ['api', 'scheduler']) assert.deepEqual(s[name]?.depends_on, { redis: { condition: 'service_healthy' } });
    // Redis as BullMQ needs it.
    assert.deepEqual(s.redis?.command, ['redis-server', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes']);
  });

  it('nightshift services talk to redis:6379 and s3:8333 and health-check the ports they open', () => {
    const s = compose.services;
    for (const name of ['seed', 'worker', 'scheduler', 'api']) {
      const env = s[name]?.environment ?? {};
      assert.equal(env.NIGHTSHIFT_REDIS_URL, 'redis://redis:6379', name);
      assert.equal(env.NIGHTSHIFT_S3_ENDPOINT, 'http://s3:8333', name);
      assert.equal(env.NIGHTSHIFT_JOBS_DIR, '/app/jobs', name);
    }
    assert.ok(s.s3?.command?.includes('-s3.port=8333'));
    assert.equal(s.s3?.configs?.[0]?.target, '/etc/seaweedfs/s3.json');
    assert.ok(s.s3?.command?.includes('-s3.config=/etc/seaweedfs/s3.json'));
    assert.ok(s.worker?.command?.includes('9464') && s.worker.healthcheck?.test.join(' ').includes('127.0.0.1:9464/readyz'));
    assert.ok(s.api?.command?.join(' ').includes('--port 8080') && s.api.healthcheck?.test.join(' ').includes('127.0.0.1:8080/readyz'));
    assert.deepEqual(s.api?.ports, ['${NIGHTSHIFT_API_PORT:-8080}:8080']);
    assert.deepEqual(s.seed?.entrypoint, ['node', '/app/scripts/seed-s3.mjs']);
    // Files the compose file mounts or the image runs exist in the repo.
    for (const f of ['jobs', 'scripts/seed-s3.mjs', 'jobs/example-s3.yaml', 'Dockerfile', '.dockerignore']) assert.ok(existsSync(path.join(REPO_ROOT, f)), f);
    // The S3 identity is built from .env, valid JSON once the variables are filled in.
    const identities = (compose.configs['s3-identities']?.content ?? '').replace('${S3_ACCESS_KEY}', 'k').replace('${S3_SECRET_KEY}', 's');
    assert.deepEqual((JSON.parse(identities) as { identities: { credentials: unknown[] }[] }).identities[0]?.credentials, [{ accessKey: 'k', secretKey: 's' }]);
  });

  it('secrets come from .env: every variable it uses is in .env.example, which holds placeholders only', () => {
    const used = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}/g)].map((m) => m[1] as string));
    for (const v of used) assert.ok(envExample.has(v), `${v} is in .env.example`);
    for (const secret of ['S3_SECRET_KEY', 'NIGHTSHIFT_API_TOKEN']) {
      assert.match(envExample.get(secret) ?? '', /^change-me/, `${secret} is a placeholder`);
      assert.ok(composeText.includes(`\${${secret}`), `${secret} comes from the environment`);
    }
    // No literal credential in the compose file.
    for (const svc of Object.values(compose.services)) {
      for (const [k, v] of Object.entries(svc.environment ?? {})) {
        if (/SECRET|TOKEN|PASSWORD/.test(k)) assert.match(String(v), /^\$\{/, `${k} is not written in the compose file`);
      }
    }
    const ignored = spawnSync('git', ['check-ignore', '-q', '.env'], { cwd: REPO_ROOT });
    assert.equal(ignored.status, 0, '.env is git-ignored');
  });

  it('the Dockerfile builds on Node 22, runs as a non-root user, keeps one platform of onnxruntime, and package.json engines agree', async () => {
    const docker = await read('Dockerfile');
    const froms = [...docker.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] as string);
    assert.ok(froms.length >= 1);
    for (const f of froms) assert.match(f, /^node:22\.\d+\.\d+-bookworm-slim$/, `FROM ${f}: Node 22, pinned`);
    assert.match(docker, /^USER node$/m);
    assert.match(docker, /rm -rf darwin win32/);
    assert.match(docker, /COPY scripts\/seed-s3\.mjs/);
    const pkg = JSON.parse(await read('package.json')) as { engines: { node: string } };
    assert.equal(pkg.engines.node, '>=20', 'Node 20 (these machines) and 22 (the image)');
  });

  it('jobs/example-s3.yaml is a valid spec reading and writing the seeded bucket', async () => {
    const job = await loadJobFile(path.join(REPO_ROOT, 'jobs/example-s3.yaml'));
    assert.equal(job.spec.name, 'example-s3');
    assert.equal(job.spec.model.uri, 's3://nightshift/models/fraud-mlp.onnx');
    assert.equal(job.spec.input.uri, 's3://nightshift/input/{{date}}/');
    assert.equal(compose.services.seed?.environment?.SEED_BUCKET, 'nightshift');
  });
});

describe('the compose sequence without Docker: seed → worker → trigger, on s3rver and Redis', { timeout: 300_000 }, () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let h: QueueHarness;
  let dir: string;

  before(async () => {
    s3 = await startS3();
    proxy = await startFaultProxy(s3.endpoint);
    h = await openQueueHarness();
    // The demo data as scripts/make-demo.ts lays it out (fewer rows: same files and bad rows).
    dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-seed-'));
    await writeIn(dir, 'models/fraud-mlp.onnx', buildMlp({ features: 8, hidden: 16, seed: 7 }));
    for (const [i, name] of ['transactions-a.csv', 'transactions-b.csv', 'transactions-c.csv.gz'].entries()) {
      await writeSampleCsv(path.join(dir, 'input', '2026-11-28', name), {
        rows: 4_000,
        features: 8,
        seed: i + 1,
        badEvery: 2_000,
        idOffset: i * 4_000,
        gzip: name.endsWith('.gz'),
      });
    }
  });
  after(async () => {
    await h?.close();
    await proxy?.close();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the seed creates the bucket and uploads the demo files (twice: idempotent); a worker scores example-s3 and publishes it', async () => {
    const env = {
      NIGHTSHIFT_S3_ENDPOINT: proxy.endpoint,
      NIGHTSHIFT_S3_FORCE_PATH_STYLE: 'true',
      NIGHTSHIFT_S3_CHECKSUMS: 'when_required',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_JOBS_DIR: path.join(REPO_ROOT, 'jobs'),
      NIGHTSHIFT_REDIS_PREFIX: h.prefix,
    };
    for (const state of ['created', 'exists']) {
      // Not spawnSync: s3rver runs in this process and must keep answering.
      const seed = new ChildHandle(
        'seed',
        spawn(process.execPath, ['scripts/seed-s3.mjs'], {
          cwd: REPO_ROOT,
          env: { ...process.env, ...env, SEED_DIR: dir, SEED_BUCKET: 'nightshift' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      assert.equal((await seed.waitForExit(60_000)).code, 0, seed.output);
      assert.match(seed.output, new RegExp(`bucket nightshift ${state}; uploaded 4 file\\(s\\)`));
    }
    const worker = spawnCli(['worker'], { prefix: h.prefix, env });
    h.workers.push(worker);
    await worker.waitForOutput(/worker ready/, 120_000);
    // What the README tells a compose user to run (there: docker compose exec api nightshift …).
    const run = await runCli(['trigger', 'example-s3', '--date', '2026-11-28', '--wait'], env, 180_000);
    assert.equal(run.code, 0, `${run.output}\n${worker.output}`);
    assert.match(run.output, /succeeded/);
    const manifest = JSON.parse(await getText(s3, 'nightshift', 'output/example/2026-11-28/_SUCCESS')) as { rows: number; parts: string[] };
    const report = JSON.parse(await getText(s3, 'nightshift', 'output/example/2026-11-28/_report.json')) as {
      status: string;
      rows: { read: number; scored: number; rejected: number };
    };
    assert.equal(report.status, 'succeeded');
    // Every row accounted for: the bad rows went to the errors file, the rest were scored and published.
    assert.equal(report.rows.read, 12_000);
    assert.equal(report.rows.scored + report.rows.rejected, 12_000);
    assert.ok(report.rows.rejected > 0, 'the demo data has bad rows');
    assert.equal(manifest.rows, report.rows.scored);
    for (const part of manifest.parts) assert.ok(await getObject(s3, 'nightshift', `output/example/2026-11-28/${part}`), part);
  });
});
