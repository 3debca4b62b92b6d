/**
 * What does writing scored rows cost? The part formatting of a shard, old against new, on batches
 * already in memory (no parsing, no inference, no stream):
 *   old   the string formatting it replaced (test/helpers/reference-format.ts: one string per
 *         batch built with +=, toPrecision search per float32), plus the UTF-8 encoding the sink
 *         then did
 *   new   PartFormat.rows(): one Buffer per batch written by src/formats/parts/byte-writer.ts
 *
 * Cases: the benchmark workload (an id like r123456 and one float32 score from a sigmoid) as CSV
 * and as JSON Lines, a 3-column CSV (id, a text passthrough, the score), and that CSV with its
 * text cells kept as input bytes (ColumnarBatch.textBytes), as `score` writes it on the fast CSV
 * path, with the sample data's merchants (scripts/sample-data.ts: some quoted, some neutralised),
 * and that with `output.decimals`.
 *
 *   npx tsx bench/format.ts            # 1M rows
 *   npx tsx bench/format.ts 200000     # any size
 *
 * Figures are CPU time of the process (GC included), best of 3 runs each, in batches of 8192.
 */
import type { ByteCells, ColumnarBatch, ScoreColumns } from '../src/core/types.js';
import { CSV_AS_IS, CSV_PREFIXED, CSV_PREFIXED_QUOTED, CSV_QUOTED, neutraliseFormula } from '../src/formats/parts/cells.js';
import { partFormat } from '../src/formats/parts/part-formats.js';
import { jobSpecSchema, type JobSpec } from '../src/spec/job-spec.js';
import { isMain } from '../scripts/is-main.js';
import { mulberry32 } from '../scripts/models/models.js';
import { referenceCsvRows, referenceJsonlRows } from '../test/helpers/reference-format.js';

const BATCH_ROWS = 8192;
const RUNS = 3;
const MERCHANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark industries', 'wayne enterprises', 'tyrell'];
/** scripts/sample-data.ts's merchants: the text cells of `npm run bench`'s input. */
const SAMPLE_MERCHANTS = ['Acme Corp', 'Bits, Bytes & Co', 'Café "Zur Post"', '=HYPERLINK("x")', 'Northwind', '-fresh market', 'Globex'];

export interface FormatFigures {
  readonly cpuMs: number;
  readonly nsPerRow: number;
  readonly rowsPerCpuSecond: number;
}

export interface FormatCase {
  readonly name: string;
  readonly rows: number;
  readonly outputBytes: number;
  readonly old: FormatFigures;
  readonly new: FormatFigures;
  /** old ns/row ÷ new ns/row. */
  readonly speedup: number;
}

interface Workload {
  readonly spec: JobSpec;
  readonly batches: { batch: ColumnarBatch; scores: ScoreColumns[] }[];
}

/** Times old and new formatting on each case; checks that they give the same bytes. */
export function measureFormat(rows: number): FormatCase[] {
  return [
    measureCase('csv: id + float32 score', workload(rows, 'csv', false)),
    measureCase('jsonl: id + float32 score', workload(rows, 'jsonl', false)),
    measureCase('csv: id + text + float32 score', workload(rows, 'csv', true)),
    measureCase('csv: as score (text as bytes)', workload(rows, 'csv', true, true)),
    measureCase('csv: as score, decimals: 4', workload(rows, 'csv', true, true, 4)),
  ];
}

function workload(rows: number, format: 'csv' | 'jsonl', withText: boolean, asBytes = false, decimals?: number): Workload {
  const spec = jobSpecSchema.parse({
    name: 'format-bench',
    model: { uri: 'model.onnx', inputs: [{ name: 'features', columns: ['f0'] }], outputs: [{ name: 'score', columns: ['score'] }] },
    input: { uri: 'in/', id: ['txn_id'], passthrough: withText ? ['merchant'] : [] },
    output: { uri: 'out/', format, ...(decimals === undefined ? {} : { decimals }) },
  });
  const rand = mulberry32(1);
  const batches: Workload['batches'] = [];
  for (let start = 0; start < rows; start += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - start);
    const ids = Array.from({ length: n }, (_, r) => `${asBytes ? 't' : 'r'}${start + r}`);
    const names = asBytes ? SAMPLE_MERCHANTS : MERCHANTS;
    const text = withText
      ? [Array.from({ length: n }, (_, r) => (asBytes ? names[(start + r) % names.length] : names[Math.floor(rand() * names.length)]) as string)]
      : [];
    const score = Float32Array.from({ length: n }, () => 1 / (1 + Math.exp(-(rand() * 8 - 4))));
    const batch: ColumnarBatch = { rows: n, features: new Map(), ids: [ids], passthrough: text, lines: [] };
    const textBytes = asBytes ? { textBytes: { ids: [byteCells(ids)], passthrough: text.map(byteCells) } } : {};
    batches.push({ batch: { ...batch, ...textBytes }, scores: [{ name: 'score', width: 1, values: score }] });
  }
  return { spec, batches };
}

/** Cells as the fast CSV path keeps them (formats/csv/byte-cells.ts), each with csvText's outcome. */
function byteCells(texts: readonly string[]): ByteCells {
  const parts = texts.map((t) => Buffer.from(t, 'utf8'));
  const offsets = new Int32Array(texts.length + 1);
  parts.forEach((p, r) => (offsets[r + 1] = (offsets[r] as number) + p.length));
  const csvModes = Uint8Array.from(texts, (t) => {
    const prefixed = neutraliseFormula(t) !== t;
    const quoted = /[",\r\n]/.test(t);
    return prefixed ? (quoted ? CSV_PREFIXED_QUOTED : CSV_PREFIXED) : quoted ? CSV_QUOTED : CSV_AS_IS;
  });
  return { bytes: Buffer.concat(parts), offsets, csvModes };
}

function measureCase(name: string, w: Workload): FormatCase {
  const format = partFormat(w.spec);
  const decimals = w.spec.output.decimals;
  const jsonl = w.spec.output.format === 'jsonl';
  const oldRows = (b: Workload['batches'][number]): Buffer =>
    Buffer.from(jsonl ? referenceJsonlRows(w.spec, b.batch, b.scores) : referenceCsvRows(b.batch, b.scores, decimals), 'utf8');
  const newRows = (b: Workload['batches'][number]): Buffer => format.rows(b.batch, b.scores);
  for (const b of w.batches.slice(0, 4)) {
    if (!oldRows(b).equals(newRows(b))) throw new Error(`${name}: old and new formatting give different bytes`);
  }
  const rows = w.batches.reduce((n, b) => n + b.batch.rows, 0);
  const old = best(() => w.batches.reduce((n, b) => n + oldRows(b).length, 0), rows);
  const neu = best(() => w.batches.reduce((n, b) => n + newRows(b).length, 0), rows);
  return { name, rows, outputBytes: neu.bytes, old: old.figures, new: neu.figures, speedup: old.figures.nsPerRow / neu.figures.nsPerRow };
}

/** The fastest of RUNS runs by CPU time: on a shared machine the others mostly measure neighbours. */
function best(run: () => number, rows: number): { figures: FormatFigures; bytes: number } {
  let cpuMs = Infinity;
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const before = process.cpuUsage();
    bytes = run();
    const used = process.cpuUsage(before);
    cpuMs = Math.min(cpuMs, (used.user + used.system) / 1000);
  }
  return { figures: { cpuMs, nsPerRow: (cpuMs * 1e6) / rows, rowsPerCpuSecond: rows / (cpuMs / 1000) }, bytes };
}

if (await isMain(import.meta.url)) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const cases = measureFormat(rows);
  const figures = (f: FormatFigures): string => `${f.nsPerRow.toFixed(0).padStart(6)} ns/row ${(f.rowsPerCpuSecond / 1e6).toFixed(2).padStart(6)} M rows/s`;
  process.stdout.write(`${rows.toLocaleString('en-US')} rows in batches of ${BATCH_ROWS}; CPU time, best of ${RUNS}\n`);
  for (const c of cases) {
    process.stdout.write(
      `${c.name.padEnd(32)} old ${figures(c.old)}   new ${figures(c.new)}   ${c.speedup.toFixed(1)}×  (${(c.outputBytes / 1e6).toFixed(1)} MB)\n`,
    );
  }
}
