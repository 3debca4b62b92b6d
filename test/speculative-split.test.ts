/**
 * A plan that never reads the whole input (issue #17): a large CSV is cut at byte offsets, each
 * cut moved to a record start found in a window there, and finalize proves the guesses and
 * numbers the errors files by the object's lines. Checked against a one-shard run of the same
 * file (LF, CRLF, bare CR; quoted line breaks straddling cuts; rejected rows in later shards),
 * by the bytes the plan reads, and with an input crafted so that a guess is wrong.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { planUnits } from '../src/run/plan-units.js';
import { shiftErrorLines } from '../src/run/error-lines.js';
import { settleSpeculativeRanges } from '../src/run/speculative-ranges.js';
import type { ShardResult } from '../src/core/types.js';
import { InputError } from '../src/core/errors.js';
import { parseSpec, DATE, fixture, MLP, writeJob, mlpRows, MLP_HEADER, mlpSpec, parseErrors, readOutput, toCsv, tempDir, writeIn } from './helpers/jobs.js';
import { scoreRun } from '../src/run/score-run.js';
import { LocalStore } from '../src/storage/local-store.js';
import type { ObjectStore, ReadOptions } from '../src/storage/object-store.js';
import { Stores } from '../src/storage/stores.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { buildMlp } from '../scripts/models/models.js';
import { createBucket, getText, listKeys, putObject, startS3 } from './helpers/s3.js';
import { queueHarness } from './helpers/workers.js';

const SHARD_BYTES = 64 * 1024;

/** Rows whose notes hold quoted line breaks and quotes, a few rejected rows spread over the file. */
function rowsText(eol: string, n = 6000): string {
  const rows = mlpRows(n, { seed: 9, noteFor: (i) => (i % 3 === 0 ? `a "q"${eol}b${eol}${eol}c ${i}` : i % 7 === 0 ? `x, y ${i}` : `n${i}`) });
  for (const i of [40, 2500, 3100, 5990]) if (rows[i]) rows[i][3] = 'oops';
  return toCsv(MLP_HEADER, rows, eol);
}

/** Every record start after the header, by quote parity from byte 0 (what a serial pass finds). */
function recordStarts(text: Buffer): Set<number> {
  const starts = new Set<number>();
  let quoted = false;
  for (let p = 0; p < text.length; p++) {
    const c = text[p];
    if (c === 0x22) quoted = !quoted;
    else if (!quoted && (c === 0x0a || (c === 0x0d && text[p + 1] !== 0x0a))) starts.add(p + 1);
  }
  return starts;
}

/** A store that counts the bytes its reads return. */
function counting(store: ObjectStore): { store: ObjectStore; bytes: () => number } {
  let bytes = 0;
  const wrapped = Object.assign(Object.create(store) as ObjectStore, {
    async read(key: string, options?: ReadOptions): Promise<Readable> {
      const s = await store.read(key, options);
      s.on('data', (c: Buffer) => (bytes += c.length));
      return s;
    },
  });
  return { store: wrapped, bytes: () => bytes };
}

function spec(shardBytes: number): JobSpecInput {
  const s = mlpSpec();
  s.input.shardBytes = shardBytes;
  s.limits = { batchRows: 100, maxErrorRate: 0.5 };
  return s;
}

/** Parts joined without their headers, errors rows, report and shards of one in-process run. */
async function run(t: Parameters<typeof fixture>[0], text: string, shardBytes: number, threads = 1) {
  const fx = await fixture(t, { spec: spec(shardBytes), files: { 'big.csv': text } });
  const stores = new Stores();
  t.after(() => stores.close());
  const r = await scoreRun(fx.job, stores, { date: DATE, threads });
  const out = await readOutput(fx.outputDir);
  const parts = (await Promise.all(out.parts.map((p) => out.text(p)))).map((p, i) => (i === 0 ? p : p.slice(p.indexOf('\n') + 1))).join('');
  // The source differs between two fixtures' folders; the rest must not.
  const errors = (await Promise.all(out.errors.map((p) => out.text(p)))).flatMap((e) => parseErrors(e).map((r) => ({ ...r, source: '' })));
  return { report: r.report, out, parts, errors, inputError: r.inputError };
}

describe('speculative plan', () => {
  it('reads the header and one window per cut, and every range starts where a record starts', async (t) => {
    const dir = await tempDir(t, 'spec-plan');
    const text = Buffer.from(rowsText('\r\n', 40_000));
    await writeIn(dir, 'big.csv', text);
    const { store, bytes } = counting(new LocalStore(dir));
    const job = parseSpec(spec(SHARD_BYTES));
    const units = await planUnits(job.spec, [{ store, location: { kind: 'file', path: dir }, key: 'big.csv', display: 'big.csv', size: text.length }]);
    const cuts = units.length - 1;
    assert.ok(cuts >= 20, `${units.length} ranges`);
    // The header's window and one window (plus the byte before the cut) per cut: far from the object.
    assert.ok(bytes() <= (cuts + 1) * (64 * 1024 + 1), `the plan read ${bytes()} bytes of ${text.length} for ${cuts} cuts`);
    const starts = recordStarts(text);
    let next = text.indexOf('\r\n') + 2;
    for (const [i, u] of units.entries()) {
      assert.ok(u.range?.speculative, 'a speculative range');
      assert.equal(u.range.start, next, 'contiguous');
      assert.ok(i === 0 || starts.has(u.range.start), `range ${i} at ${u.range.start} starts a record`);
      assert.equal(u.range.linesBefore, i === 0 ? 1 : 0);
      next = u.range.end + 1;
    }
    assert.equal(next, text.length, 'the ranges cover the object');
  });

  it('keeps the serial split where a guess cannot be exact: relaxQuotes, a challenger', async (t) => {
    const dir = await tempDir(t, 'spec-plan');
    const text = rowsText('\n', 3000);
    await writeIn(dir, 'big.csv', text);
    const s = spec(SHARD_BYTES);
    s.input.csv = { relaxQuotes: true };
    const units = await planUnits(parseSpec(s).spec, [
      { store: new LocalStore(dir), location: { kind: 'file', path: dir }, key: 'big.csv', display: 'big.csv', size: Buffer.byteLength(text) },
    ]);
    assert.ok(units.length > 1);
    assert.ok(units.every((u) => u.range && !u.range.speculative && (u.range.linesBefore > 1 || u === units[0])));
  });

  for (const [name, eol] of [
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['bare CR', '\r'],
  ] as const) {
    it(`errors files of a multi-shard run have the lines of a one-shard run (${name})`, async (t) => {
      const text = rowsText(eol);
      const one = await run(t, text, 1 << 30);
      const many = await run(t, text, SHARD_BYTES, name === 'LF' ? 2 : 1);
      assert.equal(one.report.shards.length, 1);
      assert.ok(many.report.shards.length >= 8, `${many.report.shards.length} shards`);
      assert.equal(many.report.status, 'succeeded', many.report.reason);
      assert.equal(many.errors.length, 4);
      assert.ok(many.out.errors.length >= 3, `rejected rows in several shards: ${many.out.errors.join(', ')}`);
      assert.deepEqual(many.errors, one.errors);
      assert.equal(many.parts, one.parts);
      assert.deepEqual(many.report.rows, one.report.rows);
      // Only the final errors files remain.
      assert.deepEqual(
        many.out.names.filter((n) => n.includes('unshifted')),
        [],
      );
    });
  }

  it('an input error in a later range names the line a one-shard run names', async (t) => {
    // An unclosed quote in the last record: the last range's shard fails at the object's line.
    const text = `${rowsText('\n')}r-last,"unclosed,1,2,3,4,5,6,7,8\nmore\n`;
    const one = await run(t, text, 1 << 30);
    const many = await run(t, text, SHARD_BYTES);
    assert.equal(one.report.status, 'failed');
    assert.equal(many.report.status, 'failed');
    assert.match(one.report.reason ?? '', /big\.csv:\d+/);
    const local = (reason: string | undefined) => reason?.slice(reason.indexOf('big.csv:'));
    assert.equal(local(many.report.reason), local(one.report.reason));
    // `score` exits as for an input error either way.
    assert.ok(one.inputError instanceof InputError && many.inputError instanceof InputError);
    assert.equal(local(many.inputError.message), local(one.inputError.message));
    assert.equal(many.out.success, undefined);
  });

  it('a wrong guess (a quoted field holding record-like lines across cuts) is scored again from proven starts: the one-shard output', async (t) => {
    const text = wrongGuessInput();
    const one = await run(t, text, 1 << 30);
    const many = await run(t, text, SHARD_BYTES);
    assert.equal(many.report.status, 'succeeded', many.report.reason);
    // Four ranges planned; the first three (the second and third began inside the note) were
    // scored again as one, up to the fourth, whose start the closing quote decided.
    assert.equal(many.report.shards.length, 2);
    assert.equal(many.parts, one.parts);
    assert.deepEqual(many.errors, one.errors);
    assert.equal(many.errors.length, 2);
    assert.deepEqual(many.report.rows, one.report.rows);
    assert.deepEqual(
      many.out.names.filter((n) => n.startsWith('part-')),
      many.out.success?.parts,
      'no part of a wrong range is left beside the published ones',
    );
  });

  it('without a way to score again, a wrong guess fails the attempt and keeps no errors file of it', async (t) => {
    const dir = await tempDir(t, 'spec-chain');
    const out = { store: new LocalStore(dir), key: 'out' };
    const census = (start: number, end: number, oddQuotes: boolean, linesBefore = 0) => ({ start, end, linesBefore, header: ['a'], lines: 3, oddQuotes });
    const shard = (n: number, c: ReturnType<typeof census>) => ({
      ...emptyResult(`0000${n}`),
      census: c,
      errorsKey: `out/_errors/errors-0000${n}-a1-0000.unshifted.csv`,
    });
    const settled = await settleSpeculativeRanges(out, 'a1-0000', [
      shard(0, census(10, 99, true, 1)),
      shard(1, census(100, 199, false)),
      shard(2, census(200, 299, false)),
    ]);
    assert.match(settled.failure ?? '', /big\.csv: the plan guessed that a record starts at byte 100 \(shard 00001\)/);
    assert.deepEqual(
      settled.shards.map((s) => s.errorsKey),
      [undefined, undefined, undefined],
    );
  });
});

/**
 * A note of lines that parse as records, closing 100 bytes after the third cut: at the first two
 * cuts the window holds clean records and no quote, so the plan guesses "outside quotes" (wrong);
 * at the third, the closing quote breaks the wrong reading within a record and the guess is right.
 */
function wrongGuessInput(): string {
  const rows = mlpRows(400, { seed: 3 });
  // Rejected rows before and after it, so lines are checked on both sides.
  (rows[100] as string[])[4] = 'bad';
  (rows[300] as string[])[4] = 'bad';
  const before = toCsv(MLP_HEADER, rows.slice(0, 200));
  const headerEnd = before.indexOf('\n') + 1;
  const opening = `${before}r200,"`;
  const closeAt = headerEnd + 3 * SHARD_BYTES + 100;
  let note = '';
  for (let i = 0; opening.length + note.length < closeAt - 40; i++) note += `f${i},n,1,2,3,4,5,6,7,8\n`;
  note += 'x'.repeat(closeAt - opening.length - note.length);
  return `${opening}${note}",1,2,3,4,5,6,7,8\n${toCsv(MLP_HEADER, rows.slice(201)).slice(headerEnd)}`;
}

describe('speculative plan on workers (Redis, worker process, S3)', () => {
  it('a wrong guess is scored again by the finalize job: the output of a one-shard run', { timeout: 90_000 }, async (t) => {
    const text = wrongGuessInput();
    const one = await run(t, text, 1 << 30);
    const s3 = await startS3();
    t.after(() => s3.stop());
    const bucket = await createBucket(s3, 'spec');
    await putObject(s3, bucket, 'models/model.onnx', buildMlp(MLP));
    await putObject(s3, bucket, `in/${DATE}/big.csv`, text);
    const s = spec(SHARD_BYTES);
    s.model.uri = `s3://${bucket}/models/model.onnx`;
    s.input.uri = `s3://${bucket}/in/{{date}}/`;
    s.output.uri = `s3://${bucket}/out/{{date}}/`;
    const job = await writeJob(await tempDir(t), s);
    const h = await queueHarness(t);
    const worker = await h.spawnWorker({
      NIGHTSHIFT_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    const trig = await h.trigger(job, DATE);
    const rec = await h.waitForRun(trig.runId, trig.attempt, { timeoutMs: 60_000 });
    assert.equal(rec.status, 'succeeded', `${rec.reason ?? ''}\n${h.logs()}`);
    assert.match(worker.output, /lay inside a quoted field; scoring bytes \d+–\d+ again as shard 00000/);
    const prefix = `out/${DATE}/`;
    const names = (await listKeys(s3, bucket, prefix)).map((k) => k.slice(prefix.length));
    const success = JSON.parse(await getText(s3, bucket, `${prefix}_SUCCESS`)) as { parts: string[] };
    assert.deepEqual(
      names.filter((n) => n.startsWith('part-')),
      success.parts,
    );
    const parts = (await Promise.all(success.parts.map((p) => getText(s3, bucket, prefix + p))))
      .map((p, i) => (i === 0 ? p : p.slice(p.indexOf('\n') + 1)))
      .join('');
    assert.equal(parts, one.parts);
    const errorFiles = names.filter((n) => n.startsWith('_errors/')).sort();
    assert.ok(
      errorFiles.every((n) => !n.includes('unshifted')),
      errorFiles.join(', '),
    );
    const errors = (await Promise.all(errorFiles.map((n) => getText(s3, bucket, prefix + n)))).flatMap((e) =>
      parseErrors(e).map((r) => ({ ...r, source: '' })),
    );
    assert.deepEqual(errors, one.errors);
  });
});

describe('shiftErrorLines', () => {
  it('adds to the line cell only, whatever the chunks and quoted line breaks', async () => {
    const text =
      'source,line,column,reason,detail,id,record\n' +
      '"s3://b/a,b.csv",7,f3,not_a_number,"x",r1,"a,""b""\n,c"\n' +
      'big.csv,12,,field_count,"2 fields, expected 10",,"1\r\n2"\n';
    const expected = text.replace(',7,', ',1007,').replace(',12,', ',1012,');
    for (const size of [1, 2, 3, 5, 1000]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size)));
      const out: Buffer[] = [];
      for await (const c of shiftErrorLines(
        (async function* () {
          yield* chunks;
        })(),
        1000,
      ))
        out.push(c);
      assert.equal(Buffer.concat(out).toString(), expected, `chunks of ${size}`);
    }
  });
});

function emptyResult(shard: string): ShardResult {
  return {
    shard,
    object: 'big.csv',
    bytes: 0,
    rowsRead: 0,
    rowsScored: 0,
    rowsRejected: 0,
    rejectedByReason: {},
    partKey: undefined,
    errorsKey: undefined,
    timings: { readParseMs: 0, inferenceMs: 0, writeMs: 0 },
    scoreStats: {},
  };
}
