/** `nightshift output <job>[@date]`: what a run published, found as a reader must (via _SUCCESS). */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { findPublishedRun, openPublishedPart, readPublishedReport, readPublishedRows, type PublishedRun } from '../../run/published-run.js';
import { challengerLines } from '../../report/challenger-report.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg, resolveDate } from '../job-arg.js';

export const outputHelp = `nightshift output <job>[@date] [--date D | --latest] [--list | --cat] [--json]
  The published output of a run: follows <output root>/_latest.json (newest published date;
  the default without a date) and the run's _SUCCESS manifest, never a listing.
  --list   the published parts with their URIs and sizes (default)
  --cat    the rows of every part, in order: CSV with the header once, JSON Lines as they are,
           Parquet as JSON Lines
  --comparison  the champion/challenger comparison in the run's report (model.challenger)
  --json   --list as JSON; with --cat, every row as one JSON object per line; with
           --comparison, the report's challenger section
Exit 2 when the run has not published (no _SUCCESS).`;

export async function outputCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      date: { type: 'string' },
      latest: { type: 'boolean' },
      list: { type: 'boolean' },
      cat: { type: 'boolean' },
      json: { type: 'boolean' },
      comparison: { type: 'boolean' },
    },
  });
  const [arg] = positionals;
  if (!arg || positionals.length > 1) throw new UsageError(`expected one job (name, spec file, or job@YYYY-MM-DD)\n${outputHelp}`);
  if ([values.list, values.cat, values.comparison].filter(Boolean).length > 1) throw new UsageError('--list, --cat and --comparison exclude each other');
  const at = /^(.*)@(\d{4}-\d{2}-\d{2})$/.exec(arg);
  const jobArg = at ? (at[1] as string) : arg;
  const dateArg = at ? at[2] : values.date;
  if (dateArg !== undefined && values.latest) throw new UsageError('a date and --latest exclude each other');
  const job = await loadJobArg(jobArg);
  const stores = new Stores();
  try {
    const date = dateArg === undefined ? undefined : resolveDate(dateArg, job.spec.schedule);
    const run = await findPublishedRun(job, stores, date === undefined ? {} : { date });
    if (values.comparison) return await printComparison(run, stores, values.json === true);
    if (values.cat) await catUntilClosed(run, stores, values.json === true);
    else process.stdout.write(values.json ? `${JSON.stringify(run, null, 2)}\n` : describe(run));
    return EXIT.ok;
  } finally {
    stores.close();
  }
}

/** The report's challenger section; exit 2 when the run had no challenger. */
async function printComparison(run: PublishedRun, stores: Stores, json: boolean): Promise<number> {
  const report = await readPublishedReport(run, stores);
  if (!report) {
    process.stderr.write(`${run.runId} ${run.attempt}: its _report.json is now a newer attempt's; no comparison to show\n`);
    return EXIT.spec;
  }
  if (!report.challenger) {
    process.stderr.write(`${run.runId} ${run.attempt} scored no challenger (the job has no model.challenger)\n`);
    return EXIT.spec;
  }
  if (json) process.stdout.write(`${JSON.stringify(report.challenger, null, 2)}\n`);
  else {
    const m = report.model;
    const champion = m ? (m.name !== undefined ? `${m.name}@${m.version ?? '?'}${m.alias ? ` (${m.name}@${m.alias})` : ''}` : m.uri) : '?';
    process.stdout.write(
      `${run.runId} ${run.attempt}: champion ${champion}, ${report.rows.scored} rows scored\n${challengerLines(report.challenger).join('\n')}\n`,
    );
  }
  return EXIT.ok;
}

function describe(run: PublishedRun): string {
  const lines = [`${run.runId} ${run.attempt} published ${run.finishedAt}: ${run.rows} rows in ${run.parts.length} part(s) under ${run.outputUri}`];
  for (const p of run.parts) lines.push(`${String(p.bytes).padStart(12)}  ${p.uri}`);
  return `${lines.join('\n')}\n`;
}

async function cat(run: PublishedRun, stores: Stores, out: Writable, json: boolean): Promise<void> {
  if (json || run.parts.some((p) => p.format === 'parquet')) {
    for await (const row of readPublishedRows(run, stores)) await write(out, `${JSON.stringify(row, bigintAsNumber)}\n`);
    return;
  }
  let first = true;
  for (const part of run.parts) {
    const stream = await openPublishedPart(stores, part);
    // Every CSV part starts with the same header: print it once.
    await copy(stream, out, part.format === 'csv' && !first);
    first = false;
  }
}

/** --cat into a pipe that closes early (`| head`) ends quietly, as cat does. */
async function catUntilClosed(run: PublishedRun, stores: Stores, json: boolean): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? resolve() : reject(err)));
  });
  await Promise.race([cat(run, stores, process.stdout, json), closed]);
}

function bigintAsNumber(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value;
}

/** Copies a part to stdout with backpressure, optionally without its first line. */
async function copy(stream: Readable, out: Writable, skipFirstLine: boolean): Promise<void> {
  let skipping = skipFirstLine;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let c = chunk;
    if (skipping) {
      const nl = c.indexOf(0x0a);
      if (nl === -1) continue;
      skipping = false;
      c = c.subarray(nl + 1);
    }
    if (c.length > 0) await write(out, c);
  }
}

async function write(out: Writable, data: string | Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}
