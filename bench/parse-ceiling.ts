/**
 * How fast can a shard turn CSV bytes into float32 batches, with no inference and no writes?
 * Three ways over the same in-memory CSV, fed in 1 MiB chunks as the pipeline reads its input
 * (open-input.ts), into batches of 8192 rows:
 *   fast      readBatchEvents: byte scanner + FastBatchBuilder (src/formats/fast-csv)
 *   cast      csv-parse with `cast: true` (it converts the numbers), copied into a Float32Array
 *   general   readCsvRecords + BatchBuilder, as scoreShard runs the general path
 *
 * The CSV is the benchmark workload of scripts/sample-data.ts (txn_id, merchant — quoted and
 * formula-like text included — and N features with 4 decimals), read as the bench job reads it
 * (txn_id as id, merchant as passthrough), so the ceiling and `nightshift score` parse the same
 * bytes the same way. `npm run bench` passes the file it scores.
 *
 *   npx tsx bench/parse-ceiling.ts                # 500k rows × 32 features
 *   npx tsx bench/parse-ceiling.ts 100000 8       # any size
 *
 * Single-threaded figures for one core; the fast path is the best of 3 runs (it is short enough
 * for timer and GC noise to matter), the others are one run each.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { ColumnarBatch } from '../src/core/types.js';
import { readCsvRecords } from '../src/formats/csv/csv-reader.js';
import { readBatchEvents } from '../src/formats/csv/csv-batches.js';
import { BatchBuilder } from '../src/formats/csv/batch-builder.js';
import { jobSpecSchema, type JobSpec } from '../src/spec/job-spec.js';
import { isMain } from '../scripts/is-main.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';

const BATCH_ROWS = 8192;
const CHUNK_BYTES = 1024 * 1024;

export interface ParseFigures {
  /** Wall-clock time. */
  readonly ms: number;
  readonly rowsPerSecond: number;
  readonly mbPerSecond: number;
  /** CPU time of the process (all its threads, GC included): the honest figure on a busy machine. */
  readonly cpuMs: number;
  readonly rowsPerCpuSecond: number;
}

export interface ParseCeiling {
  readonly rows: number;
  readonly features: number;
  readonly inputBytes: number;
  readonly fast: ParseFigures;
  readonly cast: ParseFigures;
  readonly general: ParseFigures;
  /** fast rows/s ÷ general rows/s. */
  readonly fastOverGeneral: number;
}

/** Generates the workload CSV and times the three parsers on it. */
export async function measureParseCeiling(rows: number, features: number): Promise<ParseCeiling> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-ceiling-'));
  try {
    const file = path.join(dir, 'data.csv');
    await writeSampleCsv(file, { rows, features, seed: 1, decimals: 4 });
    return await measureParseCeilingOn(await readFile(file), features);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Times the three parsers on a workload CSV held in memory; checks they read the same values.
 * `fastRuns`: how many fast-path runs to take the best of (npm run bench times the fast path
 * against the physical ceiling instead, and needs one run here only as the checksum reference).
 */
export async function measureParseCeilingOn(csv: Buffer, features: number, fastRuns = 3): Promise<ParseCeiling> {
  const chunks = toChunks(csv, CHUNK_BYTES);
  const spec = benchSpec(features);
  let rows = 0;
  const figures = ({ ms, cpuMs }: Timed): ParseFigures => ({
    ms,
    rowsPerSecond: rows / (ms / 1000),
    mbPerSecond: csv.length / 1024 / 1024 / (ms / 1000),
    cpuMs,
    rowsPerCpuSecond: rows / (cpuMs / 1000),
  });

  const runs: Timed[] = [];
  for (let i = 0; i < fastRuns; i++) runs.push(await timed(() => sumFast(chunks, spec)));
  const fast = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  rows = fast.rows;
  const cast = await timed(() => sumCast(chunks, features));
  const general = await timed(() => sumGeneral(chunks, spec));
  for (const [name, run] of [
    ['cast', cast],
    ['general', general],
  ] as const) {
    if (run.sum !== fast.sum || run.rows !== rows)
      throw new Error(`${name} read other values than the fast path (checksum ${run.sum} vs ${fast.sum}, ${run.rows} vs ${rows} rows)`);
  }
  return {
    rows,
    features,
    inputBytes: csv.length,
    fast: figures(fast),
    cast: figures(cast),
    general: figures(general),
    fastOverGeneral: general.ms / fast.ms,
  };
}

interface Timed {
  readonly ms: number;
  readonly cpuMs: number;
  /** Sum of all float32 features, so the three parsers can be checked against each other. */
  readonly sum: number;
  readonly rows: number;
}

async function timed(run: () => Promise<{ sum: number; rows: number }>): Promise<Timed> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const { sum, rows } = await run();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, sum, rows };
}

function toChunks(buf: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return chunks;
}

function benchSpec(features: number): JobSpec {
  return jobSpecSchema.parse({
    name: 'parse-ceiling',
    model: {
      uri: 'model.onnx',
      inputs: [{ name: 'features', columns: featureNames(features), dtype: 'float32' }],
      outputs: [{ name: 'score', columns: ['score'] }],
    },
    input: { uri: 'in/', id: ['txn_id'], passthrough: ['merchant'] },
    output: { uri: 'out/' },
    limits: { batchRows: BATCH_ROWS },
  });
}

function sumBatch(batch: ColumnarBatch): number {
  const x = batch.features.get('features') as Float32Array;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] as number;
  return s;
}

async function sumFast(chunks: Buffer[], spec: JobSpec): Promise<{ sum: number; rows: number; idBytes: number }> {
  let sum = 0;
  let rows = 0;
  let idBytes = 0;
  for await (const e of readBatchEvents(Readable.from(chunks), 'bench.csv', spec)) {
    if (e.kind === 'rejected') throw new Error(`fast path rejected line ${e.row.line}: ${e.row.detail}`);
    sum += sumBatch(e.batch);
    rows += e.batch.rows;
    const ids = e.batch.textBytes?.ids[0];
    idBytes += ids ? ids.bytes.length : (e.batch.ids[0] ?? []).reduce((n, t) => n + Buffer.byteLength(t), 0);
  }
  return { sum, rows, idBytes };
}

export interface FastPathFigures extends ParseFigures {
  readonly rows: number;
  /** Checksums (see physical-ceiling.ts): Σ float32 features per batch, bytes of the id cells. */
  readonly sum: number;
  readonly idBytes: number;
}

/**
 * The fast path alone (readBatchEvents: scanner + FastBatchBuilder, validation included) over
 * the bench CSV in memory, fed in 1 MiB chunks; the best of `runs` runs (by wall time).
 */
export async function measureFastPath(csv: Buffer, features: number, runs = 3): Promise<FastPathFigures> {
  const chunks = toChunks(csv, CHUNK_BYTES);
  const spec = benchSpec(features);
  let best: (Timed & { idBytes: number }) | undefined;
  for (let i = 0; i < runs; i++) {
    let idBytes = 0;
    const t = await timed(async () => {
      const r = await sumFast(chunks, spec);
      idBytes = r.idBytes;
      return r;
    });
    if (!best || t.ms < best.ms) best = { ...t, idBytes };
  }
  const b = best as Timed & { idBytes: number };
  return {
    rows: b.rows,
    sum: b.sum,
    idBytes: b.idBytes,
    ms: b.ms,
    rowsPerSecond: b.rows / (b.ms / 1000),
    mbPerSecond: csv.length / 1024 / 1024 / (b.ms / 1000),
    cpuMs: b.cpuMs,
    rowsPerCpuSecond: b.rows / (b.cpuMs / 1000),
  };
}

async function sumGeneral(chunks: Buffer[], spec: JobSpec): Promise<{ sum: number; rows: number }> {
  let sum = 0;
  let rows = 0;
  let builder: BatchBuilder | undefined;
  for await (const rec of readCsvRecords(Readable.from(chunks), 'bench.csv', spec.input.csv, spec.limits.maxRecordBytes)) {
    if (!builder) {
      builder = new BatchBuilder(rec.fields, spec, 'bench.csv', rec.line);
      continue;
    }
    const rejected = builder.add(rec);
    if (rejected) throw new Error(`general path rejected line ${rejected.line}: ${rejected.detail}`);
    rows++;
    if (builder.full) sum += sumBatch(builder.take());
  }
  if (builder) sum += sumBatch(builder.take());
  return { sum, rows };
}

/**
 * csv-parse doing the number conversion itself, copied into Float32Array batches. `cast: true`
 * (its built-in parseFloat) rather than a cast function: a function gets a context object built
 * per field, which makes csv-parse an order of magnitude slower still.
 */
async function sumCast(chunks: Buffer[], features: number): Promise<{ sum: number; rows: number }> {
  const parser = Readable.from(chunks).pipe(parse({ cast: true }));
  let batch = new Float32Array(BATCH_ROWS * features);
  let rows = 0;
  let total = 0;
  let sum = 0;
  let first = -1; // index of f0, from the header
  const flush = (): void => {
    // Summed per batch, in the same order as sumBatch, so the checksums match exactly.
    let s = 0;
    for (let i = 0; i < rows * features; i++) s += batch[i] as number;
    sum += s;
    total += rows;
    batch = new Float32Array(BATCH_ROWS * features);
    rows = 0;
  };
  for await (const record of parser as AsyncIterable<(string | number)[]>) {
    if (first < 0) {
      first = record.indexOf('f0');
      continue;
    }
    for (let f = 0; f < features; f++) batch[rows * features + f] = record[first + f] as number;
    if (++rows === BATCH_ROWS) flush();
  }
  flush();
  return { sum, rows: total };
}

if (await isMain(import.meta.url)) {
  const [rowsArg, featuresArg] = process.argv.slice(2);
  const r = await measureParseCeiling(Number(rowsArg ?? 500_000), Number(featuresArg ?? 32));
  const line = (name: string, f: ParseFigures): string =>
    `${name.padEnd(8)} ${(f.rowsPerSecond / 1e6).toFixed(3).padStart(7)} M rows/s ${f.mbPerSecond.toFixed(1).padStart(7)} MB/s ${(f.ms / 1000).toFixed(2).padStart(7)} s` +
    `   (${(f.rowsPerCpuSecond / 1e6).toFixed(3)} M rows per CPU-second)`;
  process.stdout.write(
    `${r.rows.toLocaleString('en-US')} rows × ${r.features} features, ${(r.inputBytes / 1024 / 1024).toFixed(1)} MB of CSV, batches of ${BATCH_ROWS}\n`,
  );
  process.stdout.write(`${line('fast', r.fast)}\n${line('cast', r.cast)}\n${line('general', r.general)}\n`);
  process.stdout.write(`fast / general: ${r.fastOverGeneral.toFixed(1)}×\n`);
}
