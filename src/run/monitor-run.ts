/**
 * The monitoring step of finalize, called by both executors once the shards are in and the
 * report is built, before anything is published: merge the shards' profiles, write
 * `_profile.json`, compare with the baseline, put `profile` and `monitoring` in the report, and
 * apply monitor.onDrift — `fail` fails the run, `hold` makes it `held` (report written, parts
 * kept, nothing published until `nightshift approve`).
 */
import type { ShardResult } from '../core/types.js';
import type { RunReport } from '../report/run-report.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { Stores, StoreRef } from '../storage/stores.js';
import { joinKey } from './output-layout.js';
import { loadBaseline, type ModelBaseline } from './baseline.js';
import { compareProfiles, type MonitoringReport, type NoBaseline } from '../monitor/drift-report.js';
import { summarizeProfile } from '../monitor/profile-summary.js';
import { PROFILE_NAME } from './run-listing.js';
import { mergeProfiles, profileSignature, type RunProfile } from '../monitor/run-profile.js';

export interface MonitorRunContext {
  readonly spec: JobSpec;
  readonly specFile: string | undefined;
  readonly baseDir: string;
  readonly stores: Stores;
  /** The run's output prefix. */
  readonly out: StoreRef;
  readonly modelBaseline?: ModelBaseline;
  /** false: profile only (`nightshift profile`), no baseline, no gate. */
  readonly judge?: boolean;
}

/** Mutates the report: adds profile and monitoring, and may set status held or failed. */
export async function monitorRun(ctx: MonitorRunContext, report: RunReport, shards: readonly ShardResult[]): Promise<void> {
  if (!ctx.spec.monitor.profile && ctx.judge !== false) return;
  // scoreShard put a monitor/ RunProfile there (core only knows it as a ShardProfile).
  const profile = mergeProfiles(shards.flatMap((s) => (s.profile ? [s.profile as RunProfile] : []))) ?? emptyProfile(ctx.spec);
  profile.run = { runId: report.runId, attempt: report.attempt, logicalDate: report.logicalDate };
  report.profile = summarizeProfile(profile);
  if (ctx.judge !== false) {
    report.monitoring = await judge(ctx, profile, report.logicalDate, report.model);
    applyGate(report, ctx.spec);
  }
  // Only a run that publishes (or may, once approved) leaves its profile: a failed attempt must
  // not replace the profile of the attempt that is published there.
  if (report.status !== 'failed' || ctx.judge === false) {
    await ctx.out.store.write(joinKey(ctx.out.key, PROFILE_NAME), `${JSON.stringify(profile)}\n`, { contentType: 'application/json' });
  }
}

/** The registered version the report says the run scored with (for `baseline: model`). */
function registeredVersion(m: RunReport['model']): { name: string; version: number; registry: string } | undefined {
  return m?.name !== undefined && m.version !== undefined && m.registry !== undefined ? { name: m.name, version: m.version, registry: m.registry } : undefined;
}

async function judge(ctx: MonitorRunContext, profile: RunProfile, logicalDate: string, model: RunReport['model']): Promise<MonitoringReport> {
  if (ctx.spec.monitor.baseline === undefined) return { baseline: null, verdict: 'not_judged', note: 'no monitor.baseline configured' };
  try {
    const baseline = await loadBaseline({
      ...ctx,
      logicalDate,
      ...(ctx.modelBaseline ? { modelBaseline: ctx.modelBaseline } : {}),
      model: registeredVersion(model),
    });
    if (!baseline) return { baseline: null, verdict: 'not_judged', note: 'baseline: previous, and no earlier run of this job has published yet' };
    return compareProfiles(profile, baseline.profile, baseline.ref, ctx.spec.monitor);
  } catch (err) {
    // The plan checked the baseline; if it went away since, say so instead of losing the run.
    return { baseline: null, verdict: 'error', note: (err as Error).message };
  }
}

function applyGate(report: RunReport, spec: JobSpec): void {
  const m = report.monitoring;
  if (report.status !== 'succeeded' || !m) return;
  const gate = spec.monitor.onDrift;
  const drifted = m.verdict === 'drift';
  const unjudged = m.verdict === 'error' && gate !== 'warn';
  if (!drifted && !unjudged) return;
  const what = drifted
    ? `drift in ${m.drifted.slice(0, 5).join(', ')}${m.drifted.length > 5 ? ', …' : ''}`
    : `drift could not be judged (${(m as NoBaseline).note})`;
  if (gate === 'fail') {
    report.status = 'failed';
    report.reason = `${what} (monitor.onDrift: fail)`;
    report.output.parts = [];
  } else if (gate === 'hold') {
    report.status = 'held';
    report.reason = `${what}; held for approval (monitor.onDrift: hold): nightshift approve ${report.runId} or nightshift reject ${report.runId}`;
  }
}

function emptyProfile(spec: JobSpec): RunProfile {
  return {
    format: 'nightshift-profile/1',
    signature: profileSignature(spec),
    rows: { read: 0, scored: 0, rejected: 0, rejectedByReason: {} },
    inputs: {},
    scores: {},
  };
}

/** One or two lines for the `score` summary: the verdict and what drifted most. */
export function monitoringLines(report: RunReport): string[] {
  const m = report.monitoring;
  if (!m) return [];
  if (m.baseline === null) return [`  monitoring: ${m.verdict === 'error' ? 'error' : 'not judged'} (${m.note})`];
  const worst = m.worst ? `; worst: ${m.worst.column} ${m.worst.metric} ${m.worst.value} (threshold ${m.worst.threshold})` : '';
  return [`  monitoring: ${m.verdict} against ${m.baseline.source} baseline ${m.baseline.from ?? m.baseline.uri}${worst}`];
}
