/**
 * Bad input that the other suites do not cover (csv-edge-cases covers quoting, numbers, gzip and
 * a small over-long record; models-in-pipeline covers truncated and not-ONNX model bytes; spec
 * covers ".." in spec URIs): a 50 MB single line, bytes that are not UTF-8, duplicated and extra
 * header columns, --input/--output overrides that would escape a prefix, and a model whose
 * weights point at files outside itself.
 *
 *   node --import tsx --test test/bad-input.test.ts
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { encodeModel, makeNode, onnx, tensorInfo } from '../scripts/models/onnx-builder.js';
import { scoreCommand } from '../src/cli/commands/score.js';
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.js';
import { InputError, ModelError } from '../src/core/errors.js';
import { assertMlpPart, DATE, fixture, listFiles, MLP_HEADER, mlpRows, mlpSpec, parseErrors, readOutput, runJob, toCsv, writeIn } from './helpers/jobs.js';
import { runCli } from './helpers/redis-process.js';

/** How many of this process's file descriptors are open on `file` (Linux /proc). */
async function openOn(file: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file) n++;
  }
  return n;
}

/** Heap + Buffers in use: what a parser holding a whole record would grow. */
function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

describe('a 50 MB line', () => {
  it('fails its shard with a maxRecordBytes error, without holding the line in memory or the file open', { timeout: 60_000 }, async (t) => {
    const fx = await fixture(t, { files: {} });
    const file = path.join(fx.inputDir, 'one-line.csv');
    await writeIn(fx.inputDir, 'one-line.csv', `${MLP_HEADER.join(',')}\nr0,`);
    const out = createWriteStream(file, { flags: 'a' });
    const mb = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 50; i++) if (!out.write(mb)) await once(out, 'drain');
    out.end();
    await once(out, 'close');

    global.gc?.();
    const base = memoryInUse();
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, memoryInUse())), 2);
    const result = await runJob(fx.job).finally(() => clearInterval(sampler));
    peak = Math.max(peak, memoryInUse());

    assert.ok(result.inputError instanceof InputError);
    assert.match(result.inputError.message, /one-line\.csv:2: a record is longer than limits\.maxRecordBytes .*\[CSV_MAX_RECORD_SIZE\]/);
    assert.equal(result.report.status, 'failed');
    const names = await listFiles(fx.outputDir);
    assert.deepEqual(
      names.filter((n) => n.startsWith('part-') || n === '_SUCCESS'),
      [],
      `outputs: ${names.join(', ')}`,
    );
    // The limit is 1 MiB of text; the parser must stop near it, not read 50 MB into a string.
    assert.ok(peak - base < 30 * 1024 * 1024, `memory grew by ${((peak - base) / 1024 / 1024).toFixed(1)} MB`);
    assert.equal(await openOn(file), 0, 'the input file was closed');
  });
});

describe('bytes that are not UTF-8', () => {
  it('reject the row (invalid_utf8, line and column) in a feature, id or passthrough cell; not in a column the job does not use', async (t) => {
    const header = [...MLP_HEADER, 'unused'];
    const rows = mlpRows(8, { seed: 3 }).map((r) => [...r, 'fine']);
    const lines = [header.join(','), ...rows.map((r) => r.join(','))].map((l) => Buffer.from(l));
    const bad = (line: number, column: string, bytes: number[]): void => {
      const cells = (lines[line - 1] as Buffer).toString('latin1').split(',');
      const i = header.indexOf(column);
      cells[i] = `${cells[i]}${String.fromCharCode(...bytes)}`;
      lines[line - 1] = Buffer.from(cells.join(','), 'latin1');
    };
    bad(3, 'f2', [0xff]); // a stray byte in a feature
    bad(5, 'note', [0xe9]); // Latin-1 "é" in a passthrough cell
    bad(6, 'id', [0xc3]); // a cut multi-byte sequence in an id
    bad(8, 'unused', [0xfe, 0xff]); // not read by the job: the row scores
    const content = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const fx = await fixture(t, { files: { 'data.csv': content } });

    const result = await runJob(fx.job);
    assert.equal(result.report.status, 'succeeded', result.report.reason);
    assert.deepEqual(result.report.rows.rejectedByReason, { invalid_utf8: 3 });
    const out = await readOutput(fx.outputDir);
    const [errorsFile] = out.errors;
    assert.ok(errorsFile !== undefined);
    const errors = parseErrors(await out.text(errorsFile));
    assert.deepEqual(
      errors.map((e) => [e.line, e.column, e.reason]),
      [
        [3, 'f2', 'invalid_utf8'],
        [5, 'note', 'invalid_utf8'],
        [6, 'id', 'invalid_utf8'],
      ],
    );
    assert.match(errors[0]?.detail ?? '', /not valid utf8 .*input\.csv\.encoding/);
    const kept = rows.filter((_, i) => ![1, 3, 4].includes(i)).map((r) => r.slice(0, MLP_HEADER.length));
    await assertMlpPart(fx.model, await out.onlyPart(), kept);
  });

  it('are read as text when the job says the file is latin1', async (t) => {
    const rows = mlpRows(3, { seed: 4 });
    const content = Buffer.from(toCsv(MLP_HEADER, rows).replace('note 1', 'caf\u00e9'), 'latin1');
    const spec = mlpSpec();
    spec.input = { ...spec.input, csv: { encoding: 'latin1' } };
    const fx = await fixture(t, { files: { 'data.csv': content }, spec });
    const result = await runJob(fx.job);
    assert.deepEqual([result.report.rows.read, result.report.rows.scored, result.report.rows.rejected], [3, 3, 0]);
    await assertMlpPart(
      fx.model,
      await (await readOutput(fx.outputDir)).onlyPart(),
      rows.map((r) => (r[1] === 'note 1' ? [r[0] ?? '', 'caf\u00e9', ...r.slice(2)] : r)),
    );
  });
});

describe('header columns', () => {
  it('a duplicated column the job uses fails the shard naming it; duplicated and extra columns it does not use are fine', async (t) => {
    const rows = mlpRows(5, { seed: 6 });
    const dupUsed = toCsv(
      [...MLP_HEADER, 'f3'],
      rows.map((r) => [...r, '0.5']),
    );
    const fx = await fixture(t, { files: { 'data.csv': dupUsed } });
    const failed = await runJob(fx.job);
    assert.ok(failed.inputError instanceof InputError);
    assert.match(failed.inputError.message, /data\.csv:1 column "f3": column "f3" appears 2 times in the header \(positions 6, 11\)/);
    assert.equal(failed.report.status, 'failed');

    const extra = toCsv(
      [...MLP_HEADER, 'extra', 'extra', 'more'],
      rows.map((r) => [...r, 'a', 'b', 'c']),
    );
    const fx2 = await fixture(t, { files: { 'data.csv': extra } });
    const ok = await runJob(fx2.job);
    assert.equal(ok.report.status, 'succeeded', ok.report.reason);
    await assertMlpPart(fx2.model, await (await readOutput(fx2.outputDir)).onlyPart(), rows);
  });
});

describe('--input and --output overrides', () => {
  it(
    'that would put ".." or a leading "/" into a key, or the output inside the input, are refused (exit 2) before anything is written',
    { timeout: 60_000 },
    async (t) => {
      const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, mlpRows(3)) } });
      // One end to end, as an operator would type it…
      const dotdot = await runCli(['score', fx.job.file, '--date', DATE, '--output', 's3://bucket/out/../{{date}}/']);
      assert.equal(dotdot.code, 2, dotdot.output);
      assert.match(dotdot.output, /--output: "s3:\/\/bucket\/out\/\.\.\/2026-11-28\/": object keys cannot contain "\." or "\.\." segments/);
      // …the others in this process (the same command function, without a second start-up).
      const refused = async (args: string[], message: RegExp): Promise<void> => {
        await assert.rejects(scoreCommand([fx.job.file, '--date', DATE, ...args]), (err: unknown) => {
          assert.equal(exitCodeFor(err), EXIT.spec, String(err));
          assert.match((err as Error).message, message);
          return true;
        });
      };
      await refused(['--input', 's3://bucket//in/{{date}}/'], /--input: "s3:\/\/bucket\/\/in\/2026-11-28\/": object keys cannot start with "\/"/);
      await refused(['--output', `${fx.inputDir}/scored/`], /--output ".*\/scored\/" must not be equal to, inside, or around the input/);
      await refused(['--output', `s3://bucket/${'x/'.repeat(2)}./`], /object keys cannot contain "\." or "\.\." segments/);
      assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), []);
      assert.deepEqual(await listFiles(fx.inputDir), ['data.csv'], 'nothing written next to the input');
    },
  );
});

describe('a model with external data', () => {
  /** Add(x, w) where w's 4 floats are "stored" in the file `location`. */
  function externalModel(location: string): Uint8Array {
    const w = {
      name: 'w',
      dims: [1, 8],
      dataType: onnx.TensorProto.DataType.FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: '0' },
        { key: 'length', value: '32' },
      ],
    };
    return encodeModel({
      graphName: 'external',
      nodes: [makeNode('Add', ['features', 'w'], ['sum']), makeNode('ReduceSum', ['sum'], ['score'])],
      inputs: [tensorInfo('features', 'float32', ['N', 8])],
      outputs: [tensorInfo('score', 'float32', ['N', 1])],
      initializers: [w],
    });
  }

  for (const location of ['../../etc/passwd', '/etc/passwd', 'package.json']) {
    it(`is refused with a ModelError before onnxruntime sees it (location ${location})`, async (t) => {
      const fx = await fixture(t, { files: { 'data.csv': toCsv(MLP_HEADER, mlpRows(3)) }, model: externalModel(location) });
      await assert.rejects(runJob(fx.job), (err: unknown) => {
        assert.ok(err instanceof ModelError, `expected a ModelError, got ${String(err)}`);
        assert.match(
          err.message,
          new RegExp(
            `keeps 1 tensor\\(s\\) in external data files: w \\(location "${location.replace(/[./]/g, '\\$&')}"\\); nightshift .* never reads files a model points to`,
          ),
        );
        return true;
      });
      assert.deepEqual(await listFiles(path.join(fx.dir, 'out')), [], 'nothing written');
    });
  }
});
