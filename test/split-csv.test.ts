/**
 * Cutting a large CSV object into byte-range shards: record boundaries for every line ending
 * the readers accept (LF, CRLF, a bare CR), exact line numbers, and the same output as one shard.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { splitObject } from '../src/formats/csv/split-csv.js';
import { LocalStore } from '../src/storage/local-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { Stores } from '../src/storage/stores.js';
import { DATE, fixture, mlpRows, MLP_HEADER, mlpSpec, parseErrors, readOutput, tempDir, toCsv, writeIn } from './helpers/jobs.js';
import { scoreRun } from '../src/run/score-run.js';

const CSV = { header: true, delimiter: ',', quote: '"', encoding: 'utf8' as const, relaxQuotes: false };

/** The same rows with LF, CR or CRLF line ends (quoted line breaks too), a few bad rows included. */
function rowsText(eol: string): string {
  const rows = mlpRows(3000, { seed: 5, noteFor: (i) => (i % 37 === 0 ? `two${eol}lines ${i}` : `n${i}`) });
  rows[2500] = ['bad', 'x', 'oops', '1', '2', '3', '4', '5', '6', '7'];
  return toCsv(MLP_HEADER, rows, eol);
}

/** Reads through a real LocalStore, handed out in small pieces so CRLF pairs straddle chunks. */
function smallChunks(store: ObjectStore, size: number): ObjectStore {
  return Object.assign(Object.create(store) as ObjectStore, {
    async read(key: string, options?: Parameters<ObjectStore['read']>[1]): Promise<Readable> {
      const whole = await store.read(key, options);
      return Readable.from(
        (async function* () {
          for await (const c of whole as AsyncIterable<Buffer>) for (let i = 0; i < c.length; i += size) yield c.subarray(i, i + size);
        })(),
      );
    },
  });
}

it('a bare-CR file splits at the same offsets and line counts as its LF twin; CRLF at record ends too', async (t) => {
  const dir = await tempDir(t, 'split');
  const store = new LocalStore(dir);
  const plans: Record<string, Awaited<ReturnType<typeof splitObject>>> = {};
  for (const [name, eol] of [
    ['lf', '\n'],
    ['cr', '\r'],
    ['crlf', '\r\n'],
  ] as const) {
    const text = rowsText(eol);
    await writeIn(dir, `${name}.csv`, text);
    for (const chunk of [1 << 20, 7]) {
      const plan = await splitObject(smallChunks(store, chunk), `${name}.csv`, name, Buffer.byteLength(text), CSV, 64 * 1024);
      assert.ok(plan.ranges.length >= 3, `${name}: several ranges (${plan.ranges.length})`);
      for (const r of plan.ranges) {
        // Every range starts right after a line end outside quotes, where a record starts.
        const before = text.slice(0, r.start);
        assert.ok(before.endsWith(eol), `${name}: range at ${r.start} starts after a line end`);
        const lines = before.split(eol).length - 1;
        assert.equal(r.linesBefore, lines, `${name}: lines before ${r.start}`);
      }
      if (chunk === 7) assert.deepEqual(plan, plans[name], `${name}: the same plan whatever the chunk size`);
      plans[name] = plan;
    }
  }
  assert.deepEqual(plans.cr, plans.lf);
  assert.deepEqual(plans.crlf?.header, plans.lf?.header);
  assert.equal(plans.crlf?.ranges.length, plans.lf?.ranges.length);
});

it('score: a bare-CR file above shardBytes gives the parts and errors of its LF twin, line numbers included', async (t) => {
  const results: Record<string, { parts: string; errors: string; rows: unknown; shards: number }> = {};
  for (const [name, eol] of [
    ['lf', '\n'],
    ['cr', '\r'],
  ] as const) {
    const spec = mlpSpec();
    spec.input.shardBytes = 64 * 1024;
    spec.limits = { maxErrorRate: 0.5 };
    const fx = await fixture(t, { spec, files: { 'big.csv': rowsText(eol) } });
    const stores = new Stores();
    t.after(() => stores.close());
    const r = await scoreRun(fx.job, stores, { date: DATE });
    assert.equal(r.report.status, 'succeeded', `${name}: ${r.report.reason}`);
    const out = await readOutput(fx.outputDir);
    const parts = (await Promise.all(out.parts.map((p) => out.text(p)))).map((p, i) => (i === 0 ? p : p.slice(p.indexOf('\n') + 1))).join('');
    const errors = (await Promise.all(out.errors.map((p) => out.text(p)))).join('');
    results[name] = { parts, errors, rows: r.report.rows, shards: r.report.shards.length };
  }
  assert.ok((results.cr?.shards ?? 0) >= 3, `several shards (${results.cr?.shards})`);
  assert.equal(results.cr?.shards, results.lf?.shards);
  // Quoted line breaks are passed through as they were written.
  assert.equal(results.cr?.parts.replaceAll('\r', '\n'), results.lf?.parts);
  assert.deepEqual(results.cr?.rows, results.lf?.rows);
  const crErrors = parseErrors(results.cr?.errors ?? '');
  // Row 2500 of the data: after the header and 68 notes that span two lines.
  assert.deepEqual(
    crErrors.map((e) => e.line),
    [2502 + 68],
  );
  assert.deepEqual(
    crErrors.map((e) => e.line),
    parseErrors(results.lf?.errors ?? '').map((e) => e.line),
  );
});
