/**
 * The runs grid: jobs × logical dates, one cell per run showing its newest attempt. The layout
 * (which jobs, which dates, which attempt is newest) comes from the run index alone; records
 * are read only for the cells of the page shown, in one pipelined round trip. That keeps a
 * page's cost flat in the number of runs the index holds.
 */
import type { RunRecord, RunRegistry } from '../queue/run-registry.js';
import { compareAttempts } from '../run/output-layout.js';
import { parseRunId } from '../run/run-identity.js';

export const DATES_PER_PAGE = 14;

export interface GridPage {
  /** Row labels: job names, sorted. */
  readonly jobs: readonly string[];
  /** Column labels: logical dates on this page, newest first. */
  readonly dates: readonly string[];
  /** Keyed by run id (job@date); the newest attempt's record. */
  readonly cells: ReadonlyMap<string, RunRecord>;
  readonly page: number;
  readonly pages: number;
  /** Runs (not attempts) in the index, after the job filter. */
  readonly runs: number;
}

export interface GridQuery {
  readonly page: number;
  readonly job?: string | undefined;
  readonly perPage?: number;
}

export async function loadGrid(registry: RunRegistry, knownJobs: readonly string[], q: GridQuery): Promise<GridPage> {
  const perPage = q.perPage ?? DATES_PER_PAGE;
  const newest = new Map<string, { runId: string; attempt: string; job: string; date: string }>();
  for (const e of await registry.indexed()) {
    const id = parseRunId(e.runId);
    if (!id || (q.job !== undefined && id.job !== q.job)) continue;
    const cur = newest.get(e.runId);
    if (!cur || compareAttempts(e.attempt, cur.attempt) > 0) newest.set(e.runId, { runId: e.runId, attempt: e.attempt, job: id.job, date: id.logicalDate });
  }
  const jobs = new Set(q.job !== undefined ? [q.job] : knownJobs);
  const dates = new Set<string>();
  for (const r of newest.values()) {
    jobs.add(r.job);
    dates.add(r.date);
  }
  const allDates = [...dates].sort().reverse();
  const pages = Math.max(1, Math.ceil(allDates.length / perPage));
  const page = Math.min(Math.max(1, q.page), pages);
  const shown = allDates.slice((page - 1) * perPage, page * perPage);
  const onPage = new Set(shown);
  const wanted = [...newest.values()].filter((r) => onPage.has(r.date));
  const records = await registry.getMany(wanted);
  const cells = new Map<string, RunRecord>();
  records.forEach((rec, i) => {
    if (rec) cells.set((wanted[i] as { runId: string }).runId, rec);
  });
  return { jobs: [...jobs].sort(), dates: shown, cells, page, pages, runs: newest.size };
}
