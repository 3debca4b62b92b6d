/**
 * What the run page shows, gathered in one place: the attempt's record (Redis), its report and
 * publication marker (the store), the first rows of its errors files, and the job's other
 * attempts. Every read is bounded: the errors sample reads at most ERRORS_SAMPLE_BYTES per file.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { RunRecord, RunRegistry } from '../queue/run-registry.js';
import type { RunReport } from '../report/run-report.js';
import { compareAttempts, joinKey, REPORT_NAME, SUCCESS_NAME } from '../run/output-layout.js';
import { resolveRun } from '../run/run-plan.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { childLocation, formatLocation } from '../spec/uri.js';
import { readAll } from '../storage/object-store.js';
import type { Stores, StoreRef } from '../storage/stores.js';

export const ERRORS_SAMPLE_ROWS = 10;
export const ERRORS_SAMPLE_FILES = 3;
const ERRORS_SAMPLE_BYTES = 64 * 1024;

export interface ErrorsSample {
  readonly name: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** More rows follow in the file than are shown. */
  readonly more: boolean;
}

export interface RunView {
  readonly runId: string;
  readonly job: string;
  readonly logicalDate: string;
  /** The attempt shown (the newest unless ?attempt= asked for another). */
  readonly record: RunRecord | undefined;
  /** Every attempt the index still holds, newest first. */
  readonly attempts: readonly { attempt: string; triggeredAt: number }[];
  readonly spec: LoadedJob | undefined;
  /** The run's output prefix, when the job spec is known. */
  readonly outputUri: string | undefined;
  /** _report.json of the newest attempt that wrote one (may be another attempt than `record`). */
  readonly report: RunReport | undefined;
  readonly published: boolean;
  readonly errors: readonly ErrorsSample[];
  /** Why the report or errors could not be read (shown, not thrown: the record is still useful). */
  readonly problems: readonly string[];
}

export async function loadRun(
  registry: RunRegistry,
  stores: Stores,
  job: LoadedJob | undefined,
  id: { runId: string; job: string; logicalDate: string },
  attempt: string | undefined,
): Promise<RunView> {
  const attempts = (await registry.indexed())
    .filter((e) => e.runId === id.runId)
    .sort((a, b) => compareAttempts(b.attempt, a.attempt))
    .map((e) => ({ attempt: e.attempt, triggeredAt: e.triggeredAt }));
  const record = await registry.get(id.runId, attempt ?? attempts[0]?.attempt);
  const problems: string[] = [];
  let report: RunReport | undefined;
  let published = false;
  let errors: ErrorsSample[] = [];
  let outputUri: string | undefined;
  if (job) {
    const out = stores.resolve(resolveRun(job, id.logicalDate).output);
    outputUri = formatLocation(resolveRun(job, id.logicalDate).output);
    try {
      report = await readReport(out);
      published = (await out.store.head(joinKey(out.key, SUCCESS_NAME))) !== undefined;
    } catch (err) {
      problems.push(`could not read the report: ${(err as Error).message}`);
    }
    if (report) {
      const names = report.output.errors.slice(0, ERRORS_SAMPLE_FILES);
      const samples = await Promise.all(names.map((n) => readErrorsSample(out, n).catch((err: unknown) => `${n}: ${(err as Error).message}`)));
      errors = samples.filter((s): s is ErrorsSample => typeof s !== 'string');
      for (const s of samples) if (typeof s === 'string') problems.push(`could not read errors file ${s}`);
    }
  } else {
    problems.push(`no job named "${id.job}" in the jobs folder: its report and files cannot be located`);
  }
  return { runId: id.runId, job: id.job, logicalDate: id.logicalDate, record, attempts, spec: job, outputUri, report, published, errors, problems };
}

async function readReport(out: StoreRef): Promise<RunReport | undefined> {
  const key = joinKey(out.key, REPORT_NAME);
  if (!(await out.store.head(key))) return undefined;
  return JSON.parse((await readAll(await out.store.read(key))).toString('utf8')) as RunReport;
}

/** The header and first rows of an errors file, from its first bytes (a cut last line is dropped). */
async function readErrorsSample(out: StoreRef, name: string): Promise<ErrorsSample> {
  const key = joinKey(out.key, name);
  const info = await out.store.head(key);
  if (!info) return { name, header: [], rows: [], more: false };
  const end = Math.min(info.size, ERRORS_SAMPLE_BYTES) - 1;
  let text = end < 0 ? '' : (await readAll(await out.store.read(key, { range: { start: 0, end } }))).toString('utf8');
  const cut = info.size > ERRORS_SAMPLE_BYTES;
  if (cut) text = text.slice(0, text.lastIndexOf('\n') + 1);
  let records: string[][];
  try {
    const parsed: unknown = parseCsv(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, to: ERRORS_SAMPLE_ROWS + 2 });
    records = (parsed as unknown[][]).map((r) => r.map((c) => String(c)));
  } catch {
    // A record with a newline inside quotes cut at the byte limit: show what parses line by line.
    records = text
      .split('\n')
      .filter(Boolean)
      .slice(0, ERRORS_SAMPLE_ROWS + 2)
      .map((l) => [l]);
  }
  const [header = [], ...rest] = records;
  return { name, header, rows: rest.slice(0, ERRORS_SAMPLE_ROWS), more: cut || rest.length > ERRORS_SAMPLE_ROWS };
}

/** The output objects a run page may link to: what the report names, plus its markers. */
export function linkableFiles(report: RunReport | undefined): Set<string> {
  const out = new Set<string>([REPORT_NAME, SUCCESS_NAME]);
  for (const p of report?.output.parts ?? []) out.add(p);
  for (const e of report?.output.errors ?? []) out.add(e);
  for (const c of report?.challenger?.parts ?? []) out.add(c);
  return out;
}

export function fileRef(stores: Stores, job: LoadedJob, logicalDate: string, name: string): { ref: StoreRef; uri: string } {
  const loc = childLocation(resolveRun(job, logicalDate).output, name);
  return { ref: stores.resolve(loc), uri: formatLocation(loc) };
}
