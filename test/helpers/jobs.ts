/**
 * Job fixtures for pipeline tests: a temp folder per test holding a job YAML, a generated ONNX
 * model and input data; helpers to load the job the way the CLI does, run it in-process with
 * scoreRun, and read the outputs back. Expected scores never come from here: tests compute them
 * with a direct onnxruntime session (directRun) or from the exported model weights.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { parse as parseCsvSync } from 'csv-parse/sync';
import ort from 'onnxruntime-node';
import { stringify as toYaml } from 'yaml';
import { buildMlp, mulberry32, type MlpOptions } from '../../scripts/models/models.js';
import type { RunReport } from '../../src/report/run-report.js';
import { scoreRun, type ScoreRunResult } from '../../src/run/score-run.js';
import type { JobSpecInput } from '../../src/spec/job-spec.js';
import { loadJobFile, parseJobSpec, type LoadedJob } from '../../src/spec/load-spec.js';
import { Stores } from '../../src/storage/stores.js';

/** The logical date every fixture run scores. */
export const DATE = '2026-11-28';
export const MLP: MlpOptions = { features: 8, hidden: 16, seed: 7 };
export const FEATURES: readonly string[] = Array.from({ length: MLP.features }, (_, i) => `f${i}`);

/** A temp folder removed when the test ends. */
export async function tempDir(t: TestContext, label = 'job'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `nightshift-${label}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a file under `dir` (creating folders); returns its absolute path. */
export async function writeIn(dir: string, rel: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

export function specYaml(spec: JobSpecInput): string {
  return toYaml(spec);
}

/** Writes the spec as YAML next to the model and data, and loads it like the CLI does. */
export async function writeJob(dir: string, spec: JobSpecInput, file = 'job.yaml'): Promise<LoadedJob> {
  const p = await writeIn(dir, file, specYaml(spec));
  return loadJobFile(p);
}

/** Parses spec text as if it were the file `file` (for validation tests that need no disk). */
export function parseSpec(spec: JobSpecInput | string, file = '/jobs/test.yaml'): LoadedJob {
  return parseJobSpec(typeof spec === 'string' ? spec : specYaml(spec), file);
}

/**
 * The standard spec for the 8-feature MLP: input `in/{{date}}/` (id + note + f0..f7),
 * output `out/{{date}}/`. Tests change fields on the returned object before writing it.
 */
export function mlpSpec(): JobSpecInput & { input: { id: string[]; passthrough: string[] } } {
  return {
    name: 'test-job',
    model: {
      uri: 'model.onnx',
      inputs: [{ name: 'features', columns: [...FEATURES], dtype: 'float32' }],
      outputs: [{ name: 'score', columns: ['score'] }],
    },
    input: { uri: 'in/{{date}}/', id: ['id'], passthrough: ['note'] },
    output: { uri: 'out/{{date}}/' },
    limits: { batchRows: 64, maxErrorRate: 0.5 },
  };
}

export interface Fixture {
  readonly dir: string;
  readonly job: LoadedJob;
  readonly model: Uint8Array;
  /** The run's input folder (in/DATE/) and output folder (out/DATE/). */
  readonly inputDir: string;
  readonly outputDir: string;
}

/**
 * A temp folder with model.onnx, the given input files under in/DATE/, and job.yaml.
 * `model` defaults to the MLP; `spec` defaults to mlpSpec().
 */
export async function fixture(
  t: TestContext,
  options: { files: Record<string, string | Uint8Array>; spec?: JobSpecInput; model?: Uint8Array },
): Promise<Fixture> {
  const dir = await tempDir(t);
  const model = options.model ?? buildMlp(MLP);
  await writeIn(dir, 'model.onnx', model);
  const inputDir = path.join(dir, 'in', DATE);
  for (const [name, content] of Object.entries(options.files)) await writeIn(inputDir, name, content);
  const job = await writeJob(dir, options.spec ?? mlpSpec());
  return { dir, job, model, inputDir, outputDir: path.join(dir, 'out', DATE) };
}

/** Runs the job in-process on the local filesystem (or the given stores) for DATE. */
export async function runJob(job: LoadedJob, options: { stores?: Stores; date?: string } = {}): Promise<ScoreRunResult> {
  const stores = options.stores ?? new Stores();
  try {
    return await scoreRun(job, stores, { date: options.date ?? DATE });
  } finally {
    if (!options.stores) stores.close();
  }
}

export interface SuccessManifest {
  runId: string;
  attempt: string;
  finishedAt: string;
  rows: number;
  parts: string[];
}

export interface RunOutput {
  /** Every file under the output folder, relative to it, sorted (temp files included). */
  readonly names: string[];
  /** Part files (part-…) and errors files (errors-…) among them. */
  readonly parts: string[];
  readonly errors: string[];
  readonly report: RunReport | undefined;
  readonly success: SuccessManifest | undefined;
  text(name: string): Promise<string>;
  /** Text of the one part file there must be. */
  onlyPart(): Promise<string>;
}

/** Lists every file under `dir`, recursively, relative to it; [] when the folder does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export async function readOutput(dir: string): Promise<RunOutput> {
  const names = await listFiles(dir);
  const read = (name: string): Promise<string> => readFile(path.join(dir, name), 'utf8');
  const parts = names.filter((n) => n.startsWith('part-'));
  return {
    names,
    parts,
    errors: names.filter((n) => n.startsWith('_errors/errors-')),
    report: names.includes('_report.json') ? (JSON.parse(await read('_report.json')) as RunReport) : undefined,
    success: names.includes('_SUCCESS') ? (JSON.parse(await read('_SUCCESS')) as SuccessManifest) : undefined,
    text: read,
    onlyPart: () => {
      assert.equal(parts.length, 1, `expected one part, found: ${names.join(', ')}`);
      return read(parts[0] as string);
    },
  };
}

/**
 * sha256 of each part and errors file under `dir`, by name without its attempt (`-a1-b7b7`): two
 * runs of the same input compare equal when they wrote the same bytes.
 */
export async function outputDigests(dir: string): Promise<Record<string, string>> {
  const out = await readOutput(dir);
  const d: Record<string, string> = {};
  for (const n of [...out.parts, ...out.errors])
    d[n.replace(/-a\d+-[0-9a-f]{4}\./, '.')] = createHash('sha256')
      .update(await out.text(n))
      .digest('hex');
  return d;
}

export interface CsvTable {
  readonly header: string[];
  readonly rows: string[][];
}

/**
 * Parses CSV text with csv-parse/sync; the first record is the header. Parts must have one
 * field count throughout; `ragged` allows other counts (for reading test inputs with bad rows).
 */
export function parseCsv(text: string, options: { ragged?: boolean } = {}): CsvTable {
  const records: string[][] = parseCsvSync(text, { bom: true, relax_column_count: options.ragged ?? false });
  const [header, ...rows] = records;
  return { header: header ?? [], rows };
}

/** Rows as objects keyed by header name (own properties, so "__proto__" is just a key). */
export function csvObjects(text: string): Record<string, string>[] {
  const { header, rows } = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** One row of an errors-NNNNN.csv file. */
export interface ErrorRow {
  source: string;
  line: number;
  column: string;
  reason: string;
  detail: string;
  id: string;
  record: string;
}

export function parseErrors(text: string): ErrorRow[] {
  const { header, rows } = parseCsv(text);
  if (header.join(',') !== 'source,line,column,reason,detail,id,record') throw new Error(`unexpected errors header: ${header.join(',')}`);
  return rows.map(([source = '', line = '', column = '', reason = '', detail = '', id = '', record = '']) => ({
    source,
    line: Number(line),
    column,
    reason,
    detail,
    id,
    record,
  }));
}

/** Runs a model directly in a fresh onnxruntime session (the reference the pipeline must match). */
export async function directRun(model: Uint8Array, feeds: Record<string, ort.Tensor>, fetches?: string[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(model);
  try {
    return fetches ? await session.run(feeds, fetches) : await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Float32 [rows, columns.length] tensor built from CSV rows (parsed with Number, as plain text). */
export function floatTensor(rows: readonly string[][], header: readonly string[], columns: readonly string[]): ort.Tensor {
  const idx = columns.map((c) => {
    const i = header.indexOf(c);
    if (i === -1) throw new Error(`no column ${c}`);
    return i;
  });
  const data = new Float32Array(rows.length * idx.length);
  rows.forEach((r, i) => idx.forEach((c, j) => (data[i * idx.length + j] = Number(r[c]))));
  return new ort.Tensor('float32', data, [rows.length, idx.length]);
}

/** Float32 values of an output tensor. */
export function f32(t: ort.Tensor | undefined): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t?.type ?? 'nothing'}`);
  return t.data;
}

/**
 * Deterministic input rows for the MLP: id, note, f0..f7 as text with 4 decimals.
 * `noteFor` lets a test put awkward text in the passthrough column.
 */
export function mlpRows(n: number, options: { seed?: number; idPrefix?: string; noteFor?: (i: number) => string } = {}): string[][] {
  const rand = mulberry32(options.seed ?? 1);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const row = [`${options.idPrefix ?? 'r'}${i}`, options.noteFor ? options.noteFor(i) : `note ${i}`];
    for (let f = 0; f < MLP.features; f++) row.push(((rand() - 0.5) * 4).toFixed(4));
    rows.push(row);
  }
  return rows;
}

export const MLP_HEADER: readonly string[] = ['id', 'note', ...FEATURES];

/** One CSV record (no line ending) with RFC 4180 quoting where needed. */
export function csvRecord(row: readonly string[]): string {
  return row.map((t) => (/[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t)).join(',');
}

/** CSV text: the header and rows, each record followed by `eol`. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[], eol = '\n'): string {
  return [header, ...rows].map((r) => csvRecord(r) + eol).join('');
}

/**
 * Asserts a CSV part of the MLP job (id, note, score) holds exactly the accepted input `rows`
 * (id, note, f0..f7 as text), in order, each scored as a direct session.run on the same rows
 * scores it. `note` maps an input note to the text expected in the part (default: unchanged);
 * `feature` parses a feature cell for the direct run (default: Number).
 */
export async function assertMlpPart(
  model: Uint8Array,
  partText: string,
  rows: readonly string[][],
  options: { note?: (text: string) => string; feature?: (text: string) => number; header?: readonly string[] } = {},
): Promise<void> {
  const part = parseCsv(partText);
  assert.deepEqual(part.header, ['id', 'note', 'score']);
  assert.deepEqual(
    part.rows.map((r) => r[0]),
    rows.map((r) => r[0]),
    'ids, in input order',
  );
  const note = options.note ?? ((t: string) => t);
  assert.deepEqual(
    part.rows.map((r) => r[1]),
    rows.map((r) => note(r[1] ?? '')),
    'passthrough notes',
  );
  if (rows.length === 0) return;
  const header = options.header ?? MLP_HEADER;
  const parseFeature = options.feature ?? Number;
  const idx = FEATURES.map((f) => header.indexOf(f));
  const x = new Float32Array(rows.length * FEATURES.length);
  rows.forEach((r, i) => idx.forEach((c, j) => (x[i * FEATURES.length + j] = parseFeature(r[c] ?? ''))));
  const expected = f32((await directRun(model, { features: new ort.Tensor('float32', x, [rows.length, FEATURES.length]) }))['score']);
  const got = part.rows.map((r) => Math.fround(Number(r[2])));
  assert.deepEqual(got, Array.from(expected), 'scores equal a direct session.run');
}
