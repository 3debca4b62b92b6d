/**
 * The physical ceiling (issue #17): the least work that turns the bench CSV into float32 batches
 * on one core. A minimal byte scanner, written for this bench only (not src/), with no
 * validation at all:
 *   - RFC 4180 fields: a quoted field runs to its closing quote, a doubled quote inside is text;
 *     records end at \n, \r\n or a lone \r; empty lines are skipped;
 *   - each float cell is parsed from its bytes straight into its column's slot of the
 *     Float32Array of an 8192-row batch (the exact Clinger fast path of parse-float.ts; other
 *     spellings fall back to Number() on the text, unchecked);
 *   - id and passthrough cells are kept as offsets into the chunk they lie in (never copied);
 *   - no field count check, no UTF-8 check, no error rows, no line numbers.
 * It is fed the same 1 MiB chunks as the fast path (parse-ceiling.ts); a record cut by a chunk
 * boundary is copied once, joined with the next chunk.
 *
 * Checksum: the sum of every float32 feature, summed per batch in the same order as
 * parse-ceiling.ts sums the fast path's batches, plus the rows and the bytes of the id cells, so a
 * caller can prove both read the same values (exact equality, not a tolerance).
 *
 *   npx tsx bench/physical-ceiling.ts [rows] [features]   # against the fast path, interleaved
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMain } from '../scripts/is-main.js';
import { featureNames, writeSampleCsv } from '../scripts/sample-data.js';
import { measureFastPath } from './parse-ceiling.js';

export const CEILING_BATCH_ROWS = 8192;
/** The pieces the pipeline reads its input in (open-input.ts), as parse-ceiling.ts feeds the fast path. */
const CHUNK_BYTES = 1024 * 1024;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const POW10 = Float64Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_EXACT_MANTISSA = 1e15;
/** roles[i] for a column that is neither a feature nor kept. */
const SKIP = -1;
/** roles[i] for the id column (its cells kept as offsets). */
const ID = -2;
/** roles[i] for the passthrough column (its cells kept as offsets). */
const PASS = -3;

export interface CeilingResult {
  readonly rows: number;
  /** Σ over batches of (Σ of the batch's float32 features, in row-major order). */
  readonly sum: number;
  /** Total bytes of the id cells (quotes excluded). */
  readonly idBytes: number;
}

/** What the scan of one buffer leaves for the next: the batch being filled and the checksum. */
class CeilingState {
  readonly width: number;
  batch: Float32Array;
  /** Id and passthrough cells of the current batch: [start, end) in the chunk of `chunkOf`. */
  readonly idStart = new Int32Array(CEILING_BATCH_ROWS);
  readonly idEnd = new Int32Array(CEILING_BATCH_ROWS);
  readonly passStart = new Int32Array(CEILING_BATCH_ROWS);
  readonly passEnd = new Int32Array(CEILING_BATCH_ROWS);
  /** Index into `chunks` of the buffer each row's cells point into (kept until the batch is done). */
  readonly chunkOf = new Int32Array(CEILING_BATCH_ROWS);
  readonly chunks: Buffer[] = [];
  row = 0;
  rows = 0;
  sum = 0;
  idBytes = 0;

  constructor(
    readonly roles: Int32Array,
    width: number,
  ) {
    this.width = width;
    this.batch = new Float32Array(CEILING_BATCH_ROWS * width);
  }

  /** Batch done: checksum it (as parse-ceiling.ts sums the fast path's batch) and start the next. */
  flush(): void {
    const n = this.row * this.width;
    const x = this.batch;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] as number;
    this.sum += s;
    for (let r = 0; r < this.row; r++) this.idBytes += (this.idEnd[r] as number) - (this.idStart[r] as number);
    this.rows += this.row;
    this.row = 0;
    this.batch = new Float32Array(CEILING_BATCH_ROWS * this.width);
    this.chunks.length = 0;
  }
}

/** Reads the header line (simple split: the bench header holds no quotes) into column roles. */
function rolesFor(header: string, features: readonly string[], id: string, pass: string): Int32Array {
  const names = header.replace(/^\uFEFF/, '').split(',');
  return Int32Array.from(names, (n) => {
    const f = features.indexOf(n);
    if (f >= 0) return f;
    return n === id ? ID : n === pass ? PASS : SKIP;
  });
}

/**
 * Scans the complete records of buf[from, end) into the state; returns where the first
 * incomplete record starts (end when none is). `final`: the input ends at `end`.
 */
function scan(buf: Buffer, from: number, final: boolean, st: CeilingState): number {
  const end = buf.length;
  const roles = st.roles;
  const width = st.width;
  const chunkIndex = st.chunks.push(buf) - 1;
  let batch = st.batch;
  let row = st.row;
  let pos = from;
  while (pos < end) {
    let c = buf[pos] as number;
    if (c === LF || c === CR) {
      pos++;
      continue;
    }
    const recStart = pos;
    const base = row * width;
    let col = 0;
    for (;;) {
      const role = col < roles.length ? (roles[col] as number) : SKIP;
      let fieldStart = pos;
      let fieldEnd: number;
      if (pos < end && buf[pos] === QUOTE) {
        // Quoted: to the closing quote; "" inside is a quote of the text.
        fieldStart = ++pos;
        for (;;) {
          while (pos < end && buf[pos] !== QUOTE) pos++;
          if (pos + 1 < end && buf[pos + 1] === QUOTE) pos += 2;
          else break;
        }
        if (pos + 1 >= end && !final) return cut(st, batch, row, recStart);
        fieldEnd = pos++;
        if (role >= 0) batch[base + role] = Number(buf.toString('latin1', fieldStart, fieldEnd).replaceAll('""', '"'));
      } else if (role >= 0) {
        // Float cell: [-]digits[.digits] straight into the batch; anything else via Number().
        let i = pos;
        const negative = buf[i] === MINUS;
        if (negative) i++;
        let m = 0;
        let d = 0;
        while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
          m = m * 10 + d;
          i++;
        }
        let scale = 0;
        if (i < end && buf[i] === DOT) {
          const f = ++i;
          while (i < end && (d = (buf[i] as number) - ZERO) >>> 0 <= 9) {
            m = m * 10 + d;
            i++;
          }
          scale = i - f;
        }
        c = i < end ? (buf[i] as number) : -1;
        if ((c === COMMA || c === LF || c === CR) && m < MAX_EXACT_MANTISSA && scale <= 22) {
          const v = m / (POW10[scale] as number);
          batch[base + role] = negative ? -v : v;
          pos = i;
        } else {
          while (i < end && (c = buf[i] as number) !== COMMA && c !== LF && c !== CR) i++;
          batch[base + role] = Number(buf.toString('latin1', pos, i));
          pos = i;
        }
        fieldEnd = pos;
      } else {
        while (pos < end && (c = buf[pos] as number) !== COMMA && c !== LF && c !== CR) pos++;
        fieldEnd = pos;
      }
      if (role === ID) {
        st.idStart[row] = fieldStart;
        st.idEnd[row] = fieldEnd;
      } else if (role === PASS) {
        st.passStart[row] = fieldStart;
        st.passEnd[row] = fieldEnd;
      }
      if (pos >= end) {
        if (!final) return cut(st, batch, row, recStart);
        break;
      }
      c = buf[pos] as number;
      pos++;
      if (c === COMMA) {
        col++;
        continue;
      }
      if (c === CR) {
        if (pos >= end && !final) return cut(st, batch, row, recStart);
        if (buf[pos] === LF) pos++;
      }
      break;
    }
    st.chunkOf[row] = chunkIndex;
    if (++row === CEILING_BATCH_ROWS) {
      st.row = row;
      st.flush();
      st.chunks.push(buf);
      batch = st.batch;
      row = 0;
    }
  }
  st.batch = batch;
  st.row = row;
  return end;
}

function cut(st: CeilingState, batch: Float32Array, row: number, recStart: number): number {
  st.batch = batch;
  st.row = row;
  return recStart;
}

/**
 * Scans the bench CSV given as chunks: header, then records into 8192-row batches. `features`
 * names the float columns in their batch order; `id` and `passthrough` the kept text columns.
 */
export function scanCeiling(chunks: readonly Buffer[], features: readonly string[], id: string, passthrough: string): CeilingResult {
  let st: CeilingState | undefined;
  let tail: Buffer | undefined;
  for (let k = 0; k < chunks.length; k++) {
    let buf = chunks[k] as Buffer;
    if (tail) buf = Buffer.concat([tail, buf]);
    tail = undefined;
    let from = 0;
    if (!st) {
      const nl = buf.indexOf(LF);
      if (nl < 0) {
        tail = buf;
        continue;
      }
      st = new CeilingState(rolesFor(buf.toString('utf8', 0, nl).replace(/\r$/, ''), features, id, passthrough), features.length);
      from = nl + 1;
    }
    const stop = scan(buf, from, k === chunks.length - 1, st);
    if (stop < buf.length) tail = Buffer.from(buf.subarray(stop));
  }
  if (!st) return { rows: 0, sum: 0, idBytes: 0 };
  if (tail) scan(tail, 0, true, st);
  st.flush();
  return { rows: st.rows, sum: st.sum, idBytes: st.idBytes };
}

export interface CeilingFigures {
  readonly rows: number;
  readonly ms: number;
  readonly cpuMs: number;
  readonly rowsPerSecond: number;
  readonly rowsPerCpuSecond: number;
  readonly mbPerSecond: number;
}

export interface CeilingVersusFast {
  readonly ceiling: CeilingFigures;
  readonly fast: CeilingFigures;
  /** Whether both read the same rows, float32 values and id bytes (always true: else it throws). */
  readonly checksum: { readonly sum: number; readonly rows: number; readonly idBytes: number };
  readonly load: number;
}

/**
 * The physical ceiling and the fast path over the same bytes, alternated `rounds` times (the
 * machine's speed drifts within minutes: alternating keeps both under the same drift), best of
 * each by wall time. Throws unless both read exactly the same values. Five rounds, not three:
 * with three, the ratio of single passes swung 63–91 % between runs of the same build on a
 * machine shared with other work (2026-11-30).
 */
export async function measureCeilingVersusFast(csv: Buffer, features: number, rounds = 5): Promise<CeilingVersusFast> {
  const names = featureNames(features);
  const chunks: Buffer[] = [];
  for (let i = 0; i < csv.length; i += CHUNK_BYTES) chunks.push(csv.subarray(i, i + CHUNK_BYTES));
  const figures = (rows: number, ms: number, cpuMs: number): CeilingFigures => ({
    rows,
    ms,
    cpuMs,
    rowsPerSecond: rows / (ms / 1000),
    rowsPerCpuSecond: rows / (cpuMs / 1000),
    mbPerSecond: csv.length / 1024 / 1024 / (ms / 1000),
  });
  let ceiling: CeilingFigures | undefined;
  let fast: CeilingFigures | undefined;
  let checksum: CeilingResult | undefined;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const c = scanCeiling(chunks, names, 'txn_id', 'merchant');
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - t;
    if (!ceiling || ms < ceiling.ms) ceiling = figures(c.rows, ms, (used.user + used.system) / 1000);
    const f = await measureFastPath(csv, features, 1);
    if (f.sum !== c.sum || f.rows !== c.rows || f.idBytes !== c.idBytes) {
      throw new Error(
        `the physical ceiling read other values than the fast path: Σ ${c.sum} vs ${f.sum}, rows ${c.rows} vs ${f.rows}, id bytes ${c.idBytes} vs ${f.idBytes}`,
      );
    }
    if (!fast || f.ms < fast.ms) fast = figures(f.rows, f.ms, f.cpuMs);
    checksum = c;
  }
  return { ceiling: ceiling as CeilingFigures, fast: fast as CeilingFigures, checksum: checksum as CeilingResult, load: os.loadavg()[0] ?? 0 };
}

if (await isMain(import.meta.url)) {
  const [rowsArg, featuresArg] = process.argv.slice(2);
  const rows = Number(rowsArg ?? 1_000_000);
  const features = Number(featuresArg ?? 32);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-physical-'));
  try {
    const file = path.join(dir, 'data.csv');
    await writeSampleCsv(file, { rows, features, seed: 1, decimals: 4 });
    const r = await measureCeilingVersusFast(await readFile(file), features);
    const line = (name: string, f: CeilingFigures): string =>
      `${name.padEnd(26)} ${(f.rowsPerSecond / 1e6).toFixed(3)} M rows/s  ${(f.rowsPerCpuSecond / 1e6).toFixed(3)} M rows per CPU-second`;
    process.stdout.write(`${line('physical ceiling', r.ceiling)}\n${line('fast path', r.fast)}\n`);
    process.stdout.write(
      `fast / ceiling ${((r.fast.rowsPerSecond / r.ceiling.rowsPerSecond) * 100).toFixed(0)} % (CPU ${((r.fast.rowsPerCpuSecond / r.ceiling.rowsPerCpuSecond) * 100).toFixed(0)} %), checksum equal (Σ ${r.checksum.sum}, ${r.checksum.rows} rows, ${r.checksum.idBytes} id bytes), load ${r.load.toFixed(2)}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
