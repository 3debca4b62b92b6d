/**
 * `nightshift history <job> [--last 30] [--json]`: the job's runs over time, read from their
 * reports in the output store: one line per run (date, status, rows, rejection %, score mean and
 * p50, worst drift metric and its column), then a sparkline of each numeric column's mean with
 * its drift verdicts, run by run.
 */
import { parseArgs } from 'node:util';
import { runHistory, type HistoryRow } from '../../run/run-history.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg } from '../job-arg.js';

export const historyHelp = `nightshift history <job> [--last N] [--json]
  The job's last N runs (default 30), oldest first, from their reports in the output store:
  date, status, rows read, rejection %, mean and p50 of the first score column, the worst drift
  metric and its column; then per numeric column a sparkline of its mean across the runs and
  its drift verdicts (· ok, ! warn, ✗ drift, blank: not judged).
  --json   the rows as JSON (every numeric column's mean and p50)`;

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled between the values' min and max; a space for a gap. */
export function sparkline(values: readonly (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      if (hi === lo) return BARS[3];
      return BARS[Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))];
    })
    .join('');
}

const VERDICT_MARK: Record<string, string> = { ok: '·', warn: '!', drift: '✗', skipped: ' ' };

function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '-';
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Number(v.toFixed(digits)));
}

export function renderHistory(job: string, rows: readonly HistoryRow[]): string {
  if (rows.length === 0) return `no runs of ${job} have left a report yet\n`;
  const scoreCol = Object.entries(rows.at(-1)?.columns ?? {}).find(([, c]) => c.role === 'score')?.[0];
  const lines = [
    `${'DATE'.padEnd(10)}  ${'STATUS'.padEnd(9)}  ${'ATTEMPT'.padEnd(8)}  ${'ROWS'.padStart(9)}  ${'REJ %'.padStart(6)}  ${`${scoreCol ?? 'score'} mean`.padStart(12)}  ${'p50'.padStart(8)}  WORST DRIFT`,
  ];
  for (const r of rows) {
    const s = scoreCol ? r.columns[scoreCol] : undefined;
    const worst = r.worst
      ? `${r.worst.column} ${r.worst.metric} ${num(r.worst.value)} (limit ${num(r.worst.threshold)})`
      : r.verdict === undefined
        ? ''
        : `(${r.verdict.replace('_', ' ')})`;
    const status = `${r.status}${r.published || r.status !== 'succeeded' ? '' : '*'}`;
    lines.push(
      `${r.logicalDate}  ${status.padEnd(9)}  ${r.attempt.slice(0, 8).padEnd(8)}  ${String(r.rows.read).padStart(9)}  ${(r.rejectionRate * 100).toFixed(2).padStart(6)}  ${num(s?.mean).padStart(12)}  ${num(s?.p50).padStart(8)}  ${worst}`.trimEnd(),
    );
  }
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.columns)))];
  if (names.length > 0) {
    const width = Math.max(...names.map((n) => n.length));
    lines.push('', `column means, oldest → newest (${rows.length} runs), drift: · ok ! warn ✗ drift`);
    for (const name of names) {
      const means = rows.map((r) => r.columns[name]?.mean ?? null);
      const known = means.filter((v): v is number => v !== null);
      const marks = rows.map((r) => VERDICT_MARK[r.columns[name]?.verdict ?? ''] ?? ' ').join('');
      const range = known.length > 0 ? `${num(known[0])} → ${num(known.at(-1))}` : '';
      lines.push(`  ${name.padEnd(width)}  ${sparkline(means)}  ${marks.trim() === '' ? ''.padEnd(rows.length) : marks}  ${range}`.trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function historyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { last: { type: 'string' }, json: { type: 'boolean' } } });
  const [jobArg] = positionals;
  if (!jobArg || positionals.length > 1) throw new UsageError(`expected one job\n${historyHelp}`);
  const last = Number(values.last ?? 30);
  if (!Number.isInteger(last) || last < 1) throw new UsageError(`--last "${values.last ?? ''}": expected a whole number of runs, at least 1`);
  const job = await loadJobArg(jobArg);
  const stores = new Stores();
  try {
    const rows = await runHistory(job, stores, last);
    process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : renderHistory(job.spec.name, rows));
    return EXIT.ok;
  } finally {
    stores.close();
  }
}
