/**
 * The plan of one large CSV object (issue #17: ≤ 0.3 s for the distributed bench's 526 MB
 * object): the speculative split (windows at the cuts) against the serial split (one pass), by
 * bytes read, CPU ms of this process and wall ms, on a local folder and on s3rver (--s3).
 *
 *   node --import tsx bench/plan.ts [--rows 2000000] [--s3] [--repeat 3]
 *
 * CPU and bytes read hold on a busy machine; wall ms does not (the load is printed with them).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { writeSampleCsv } from '../scripts/sample-data.js';
import { splitObject } from '../src/formats/csv/split-csv.js';
import { splitSpeculatively } from '../src/formats/csv/speculative-split.js';
import { RangeCensus } from '../src/formats/csv/range-census.js';
import { jobSpecSchema, type JobSpecInput } from '../src/spec/job-spec.js';
import { LocalStore } from '../src/storage/local-store.js';
import type { ObjectStore, ReadOptions } from '../src/storage/object-store.js';
import { createBucket, startS3, storesFor } from '../test/helpers/s3.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '2000000' }, s3: { type: 'boolean', default: false }, repeat: { type: 'string', default: '3' } },
});
const rows = Number(values.rows);
const repeat = Number(values.repeat);

function counting(store: ObjectStore): { store: ObjectStore; bytes: () => number; reads: () => number } {
  let bytes = 0;
  let reads = 0;
  const wrapped = Object.assign(Object.create(store) as ObjectStore, {
    async read(key: string, options?: ReadOptions): Promise<Readable> {
      reads++;
      const s = await store.read(key, options);
      s.on('data', (c: Buffer) => (bytes += c.length));
      return s;
    },
  });
  return { store: wrapped, bytes: () => bytes, reads: () => reads };
}

async function measure(label: string, base: ObjectStore, key: string, size: number): Promise<void> {
  const spec = jobSpecSchema.parse({
    name: 'plan-bench',
    model: { uri: 'm.onnx', inputs: [{ name: 'x', columns: ['f0'] }], outputs: [{ name: 'y', columns: ['s'] }] },
    input: { uri: 'in/', shardBytes: Math.max(64 * 1024, Math.floor(size / 10)) },
    output: { uri: 'out/' },
  } satisfies JobSpecInput);
  const { csv, shardBytes } = spec.input;
  for (const [name, plan] of [
    ['speculative', (s: ObjectStore) => splitSpeculatively(s, key, key, size, csv, shardBytes)],
    ['serial', (s: ObjectStore) => splitObject(s, key, key, size, csv, shardBytes)],
  ] as const) {
    for (let i = 0; i < repeat; i++) {
      const c = counting(base);
      const cpu = process.cpuUsage();
      const t = performance.now();
      const result = await plan(c.store);
      const wall = performance.now() - t;
      const used = process.cpuUsage(cpu);
      console.log(
        `${label} ${name.padEnd(11)} ranges ${String(result?.ranges.length ?? 'fallback').padStart(3)}  read ${(c.bytes() / 1e6).toFixed(2).padStart(7)} MB in ${String(c.reads()).padStart(2)} reads  ` +
          `cpu ${((used.user + used.system) / 1000).toFixed(0).padStart(5)} ms  wall ${wall.toFixed(0).padStart(5)} ms  load ${os.loadavg()[0]?.toFixed(1)}`,
      );
    }
  }
}

/** What the shards pay instead: counting lines and quotes of the whole object (spread over its shards). */
async function censusCost(file: string): Promise<void> {
  const census = new RangeCensus(0x22);
  const cpu = process.cpuUsage();
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) census.count(chunk);
  const read = process.cpuUsage(cpu);
  const cpu2 = process.cpuUsage();
  for await (const _ of createReadStream(file, { highWaterMark: 64 * 1024 })) void _;
  const bare = process.cpuUsage(cpu2);
  const ms = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  console.log(
    `census of the whole object: cpu ${ms(read).toFixed(0)} ms (reading alone ${ms(bare).toFixed(0)} ms), ${census.totalLines()} lines; load ${os.loadavg()[0]?.toFixed(1)}`,
  );
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-plan-'));
try {
  const file = path.join(dir, 'data.csv');
  await writeSampleCsv(file, { rows, features: 32, seed: 1 });
  const size = (await stat(file)).size;
  console.log(`object: ${(size / 1e6).toFixed(0)} MB, ${rows} rows; shardBytes = size/10; ${os.availableParallelism()} CPUs`);
  await measure('local', new LocalStore(dir), 'data.csv', size);
  await censusCost(file);
  if (values.s3) {
    const s3 = await startS3();
    const stores = storesFor(s3);
    try {
      const bucket = await createBucket(s3, 'plan');
      const at = stores.resolve({ kind: 's3', bucket, key: 'data.csv' });
      await at.store.write('data.csv', createReadStream(file));
      await measure('s3rver', at.store, 'data.csv', size);
    } finally {
      stores.close();
      await s3.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
