/**
 * Generates transaction-like CSV for the demo, tests and benchmarks: an id, a merchant (text,
 * sometimes with commas, quotes or a leading "="), and N numeric features. Deterministic by seed.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { mulberry32 } from './models/models.js';

export interface SampleOptions {
  rows: number;
  features: number;
  seed?: number;
  /** Every Nth row is broken in one of a few ways (0 = no bad rows). */
  badEvery?: number;
  /** First id number (ids are unique across files when offsets differ). */
  idOffset?: number;
  gzip?: boolean;
  /** Decimal places of the features. */
  decimals?: number;
}

export function featureNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `f${i}`);
}

const MERCHANTS = ['Acme Corp', 'Bits, Bytes & Co', 'Café "Zur Post"', '=HYPERLINK("x")', 'Northwind', '-fresh market', 'Globex'];
const BAD = [
  (cells: string[]) => {
    cells[2] = '';
  }, // missing feature
  (cells: string[]) => {
    cells[3] = 'n/a';
  }, // not a number
  (cells: string[]) => {
    cells.pop();
  }, // wrong field count
  (cells: string[]) => {
    cells[2] = '1,234.5';
  }, // thousands separator (quoted below)
];

export async function writeSampleCsv(file: string, opts: SampleOptions): Promise<{ rows: number; bad: number }> {
  await mkdir(path.dirname(file), { recursive: true });
  const rand = mulberry32(opts.seed ?? 1);
  const out = createWriteStream(file);
  const sink = opts.gzip ? createGzip() : undefined;
  if (sink) sink.pipe(out);
  const target = sink ?? out;
  const decimals = opts.decimals ?? 4;
  const quote = (t: string): string => (/[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
  let buf = `txn_id,merchant,${featureNames(opts.features).join(',')}\n`;
  let bad = 0;
  for (let r = 0; r < opts.rows; r++) {
    const cells = [`t${(opts.idOffset ?? 0) + r}`, quote(MERCHANTS[r % MERCHANTS.length] as string)];
    for (let f = 0; f < opts.features; f++) cells.push(((rand() - 0.5) * 4).toFixed(decimals));
    if (opts.badEvery && r % opts.badEvery === opts.badEvery - 1) {
      const breaker = BAD[bad % BAD.length] as (c: string[]) => void;
      breaker(cells);
      if (cells[2]?.includes(',')) cells[2] = quote(cells[2]);
      bad++;
    }
    buf += `${cells.join(',')}\n`;
    if (buf.length > 1 << 16) {
      if (!target.write(buf)) await once(target, 'drain');
      buf = '';
    }
  }
  target.end(buf);
  await once(out, 'finish');
  return { rows: opts.rows, bad };
}
