/**
 * The run report (_report.json): what was read, scored and rejected, where it went, how long
 * each stage took, and a summary of every score column. Rows read = scored + rejected is
 * checked here, not just printed: a run whose counts do not reconcile cannot succeed.
 */
import type { RejectReason, ShardResult, StageTimings } from '../core/types.js';
import type { MonitoringReport } from '../monitor/drift-report.js';
import type { ProfileSummary } from '../monitor/profile-summary.js';
import type { Approval } from '../monitor/approval.js';
import { mergeStats, summarize, type ScoreStatsState, type ScoreSummary } from './score-stats.js';
import { challengerSection, type ChallengerFacts, type ChallengerSection } from './challenger-report.js';
import type { ModelFacts } from './model-facts.js';

/** held: complete, but waiting for `nightshift approve` before it publishes (monitor.onDrift: hold). */
/** cancelled: `nightshift cancel` stopped the attempt; its report says by whom, nothing was published. */
export type RunStatus = 'succeeded' | 'failed' | 'held' | 'cancelled';

export { modelFacts, type ModelFacts } from './model-facts.js';

export interface RunFacts {
  readonly runId: string;
  readonly attempt: string;
  readonly job: string;
  readonly logicalDate: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly model: ModelFacts | undefined;
  readonly inputUri: string;
  readonly outputUri: string;
  readonly maxErrorRate: number;
  /** The job's challenger (model.challenger), if it names one. */
  readonly challenger?: ChallengerFacts | undefined;
}

export interface RunReport {
  runId: string;
  attempt: string;
  job: string;
  logicalDate: string;
  status: RunStatus;
  reason?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  model: RunFacts['model'] | null;
  input: { uri: string; objects: { object: string; bytes: number; rows: number }[] };
  /** Names relative to output.uri. */
  /** parts: names under the output prefix; errors: names relative to it (`_errors/errors-….csv`). */
  output: { uri: string; parts: string[]; errors: string[] };
  rows: {
    read: number;
    scored: number;
    rejected: number;
    rejectedByReason: Partial<Record<RejectReason, number>>;
    errorRate: number;
    maxErrorRate: number;
    reconciled: boolean;
  };
  timings: StageTimings;
  rowsPerSecond: number;
  scores: Record<string, ScoreSummary>;
  /** Per-column statistics of the run (monitor/); the mergeable state is in _profile.json. */
  profile?: ProfileSummary;
  /** Drift against the baseline, per column and metric, with verdicts (monitor/). */
  monitoring?: MonitoringReport;
  /** Who approved or rejected a held run, when and why. */
  approval?: Approval;
  /** Champion/challenger: the challenger's model, status and comparison per score column. */
  challenger?: ChallengerSection;
  shards: Omit<ShardResult, 'scoreStats' | 'profile' | 'challenger'>[];
}

export interface RowTotals {
  read: number;
  scored: number;
  rejected: number;
  byReason: Partial<Record<RejectReason, number>>;
  reconciled: boolean;
}

export function totalRows(shards: readonly ShardResult[]): RowTotals {
  const t: RowTotals = { read: 0, scored: 0, rejected: 0, byReason: {}, reconciled: true };
  for (const s of shards) {
    t.read += s.rowsRead;
    t.scored += s.rowsScored;
    t.rejected += s.rowsRejected;
    if (s.rowsRead !== s.rowsScored + s.rowsRejected) t.reconciled = false;
    let reasons = 0;
    for (const [r, n] of Object.entries(s.rejectedByReason) as [RejectReason, number][]) {
      t.byReason[r] = (t.byReason[r] ?? 0) + n;
      reasons += n;
    }
    if (reasons !== s.rowsRejected) t.reconciled = false;
  }
  if (t.read !== t.scored + t.rejected) t.reconciled = false;
  return t;
}

/** Why a run with these shards must fail, or undefined if it may publish. */
export function failureReason(totals: RowTotals, maxErrorRate: number): string | undefined {
  if (!totals.reconciled) return `internal error: rows do not reconcile (read ${totals.read}, scored ${totals.scored}, rejected ${totals.rejected})`;
  const rate = errorRate(totals);
  if (rate > maxErrorRate) {
    return `${totals.rejected} of ${totals.read} rows rejected (${(rate * 100).toFixed(2)}%), above limits.maxErrorRate ${(maxErrorRate * 100).toFixed(2)}%; see the errors files`;
  }
  return undefined;
}

function errorRate(t: RowTotals): number {
  return t.read === 0 ? 0 : t.rejected / t.read;
}

export function buildReport(facts: RunFacts, shards: readonly ShardResult[], failure: string | undefined): RunReport {
  const totals = totalRows(shards);
  const timings: StageTimings = { readParseMs: 0, inferenceMs: 0, writeMs: 0 };
  const merged: Record<string, ScoreStatsState> = {};
  for (const s of shards) {
    timings.readParseMs += s.timings.readParseMs;
    timings.inferenceMs += s.timings.inferenceMs;
    timings.writeMs += s.timings.writeMs;
    for (const [col, st] of Object.entries(s.scoreStats)) merged[col] = merged[col] ? mergeStats(merged[col], st) : st;
  }
  const durationMs = facts.finishedAt.getTime() - facts.startedAt.getTime();
  const objects = new Map<string, { object: string; bytes: number; rows: number }>();
  for (const s of shards) {
    const o = objects.get(s.object) ?? { object: s.object, bytes: 0, rows: 0 };
    o.bytes += s.bytes;
    o.rows += s.rowsRead;
    objects.set(s.object, o);
  }
  const report: RunReport = {
    runId: facts.runId,
    attempt: facts.attempt,
    job: facts.job,
    logicalDate: facts.logicalDate,
    status: failure ? 'failed' : 'succeeded',
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    durationMs,
    model: facts.model ?? null,
    input: { uri: facts.inputUri, objects: [...objects.values()] },
    output: {
      uri: facts.outputUri,
      parts: failure ? [] : shards.flatMap((s) => (s.partKey ? [baseName(s.partKey)] : [])),
      errors: shards.flatMap((s) => (s.errorsKey ? [errorsFileName(s.errorsKey)] : [])),
    },
    rows: {
      read: totals.read,
      scored: totals.scored,
      rejected: totals.rejected,
      rejectedByReason: totals.byReason,
      errorRate: errorRate(totals),
      maxErrorRate: facts.maxErrorRate,
      reconciled: totals.reconciled,
    },
    timings: roundTimings(timings),
    rowsPerSecond: durationMs > 0 ? Math.round((totals.read / durationMs) * 1000) : 0,
    scores: Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, summarize(v)])),
    shards: shards.map(({ scoreStats: _s, profile: _p, challenger: _c, ...rest }) => ({ ...rest, timings: roundTimings(rest.timings) })),
  };
  if (failure) report.reason = failure;
  if (facts.challenger) report.challenger = challengerSection(facts.challenger, shards, failure !== undefined);
  return report;
}

function roundTimings(t: StageTimings): StageTimings {
  return { readParseMs: Math.round(t.readParseMs), inferenceMs: Math.round(t.inferenceMs), writeMs: Math.round(t.writeMs) };
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** An errors file's name relative to the run's output: `_errors/errors-….csv`. */
function errorsFileName(key: string): string {
  const name = baseName(key);
  const dir = key.slice(0, key.length - name.length);
  return dir.endsWith('_errors/') ? `_errors/${name}` : name;
}
