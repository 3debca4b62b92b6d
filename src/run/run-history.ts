/**
 * A job's runs over time, from the reports its runs left in the output store (`_report.json`
 * of each logical date): rows, rejection rate, score mean and median, per-column means and drift
 * verdicts. `nightshift history` prints it; the store is the record, so no Redis is needed.
 */
import type { RunReport } from '../report/run-report.js';
import type { Stores } from '../storage/stores.js';
import { REPORT_NAME } from './output-layout.js';
import { listRuns, readRunJson } from './run-listing.js';
import type { JobRef } from './run-plan.js';

export interface HistoryColumn {
  readonly role: 'input' | 'score';
  readonly mean: number | null;
  readonly p50: number | null;
  /** The column's drift verdict against the baseline (undefined: not judged). */
  readonly verdict?: string | undefined;
}

export interface HistoryRow {
  readonly logicalDate: string;
  readonly runId: string;
  readonly attempt: string;
  readonly status: RunReport['status'];
  readonly published: boolean;
  readonly rows: { read: number; scored: number; rejected: number };
  /** rejected / read (0 for an empty run). */
  readonly rejectionRate: number;
  /** Drift verdict of the run: ok, warn, drift, not_judged, error (undefined: no monitoring). */
  readonly verdict: string | undefined;
  readonly worst: { column: string; metric: string; value: number; threshold: number } | null;
  /** Numeric columns (model inputs and scores) by name. */
  readonly columns: Record<string, HistoryColumn>;
}

/** The newest `last` runs of the job that left a report, oldest first. */
export async function runHistory(job: JobRef, stores: Stores, last: number, signal?: AbortSignal): Promise<HistoryRow[]> {
  const runs = (await listRuns(stores, job.spec.output.uri, job.baseDir, job.spec.name, signal)).slice(-last);
  const rows: HistoryRow[] = [];
  for (const run of runs) {
    const report = (await readRunJson(run.prefix, REPORT_NAME).catch(() => undefined)) as RunReport | undefined;
    if (report?.rows) rows.push(historyRow(report, run.published));
  }
  return rows;
}

export function historyRow(r: RunReport, published: boolean): HistoryRow {
  const columns: Record<string, HistoryColumn> = {};
  const verdictOf = (column: string): string | undefined => {
    const m = r.monitoring;
    return m && m.baseline !== null ? m.columns.find((c) => c.column === column)?.verdict : undefined;
  };
  for (const [role, cols] of [
    ['input', r.profile?.inputs ?? {}],
    ['score', r.profile?.scores ?? {}],
  ] as const) {
    for (const [name, c] of Object.entries(cols)) {
      if (c.kind === 'numeric') columns[name] = { role, mean: c.mean, p50: c.quantiles.p50, verdict: verdictOf(name) };
    }
  }
  // Runs without a profile still have the score summary.
  for (const [name, s] of Object.entries(r.scores ?? {})) columns[name] ??= { role: 'score', mean: s.mean, p50: s.quantiles.p50, verdict: verdictOf(name) };
  const m = r.monitoring;
  return {
    logicalDate: r.logicalDate,
    runId: r.runId,
    attempt: r.attempt,
    status: r.status,
    published,
    rows: { read: r.rows.read, scored: r.rows.scored, rejected: r.rows.rejected },
    rejectionRate: r.rows.read === 0 ? 0 : r.rows.rejected / r.rows.read,
    verdict: m?.verdict,
    worst: m && m.baseline !== null ? m.worst : null,
    columns,
  };
}
