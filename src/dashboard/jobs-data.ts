/**
 * The jobs page: every job with its schedule and next fire time, its model (and the version an
 * alias points to now), its newest run and the rows / rejection rate of its recent runs, all
 * from the job specs, the run index and the run records (no report is read).
 */
import type { RunRecord, RunRegistry } from '../queue/run-registry.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { compareAttempts } from '../run/output-layout.js';
import { parseRunId } from '../run/run-identity.js';
import { nextTicks } from '../scheduler/cron-ticks.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { parseModelRef } from '../spec/model-ref.js';

export const SPARK_RUNS = 20;

export interface JobView {
  readonly name: string;
  readonly description: string | undefined;
  readonly schedule: { cron: string; timezone: string; next: Date | undefined } | undefined;
  /** model.ref (fraud@champion) or the model URI. */
  readonly model: string;
  /** The version model.ref resolves to now, when the dashboard's registry knows it. */
  readonly version: number | undefined;
  readonly last: RunRecord | undefined;
  /** Finished runs, oldest first, by logical date: rows read and rejection rate. */
  readonly recent: readonly { date: string; rows: number; rejectedRate: number }[];
}

export async function loadJobs(registry: RunRegistry, jobs: readonly LoadedJob[], models: ModelRegistry | undefined, now = new Date()): Promise<JobView[]> {
  const newest = new Map<string, { runId: string; attempt: string; date: string; job: string }>();
  for (const e of await registry.indexed()) {
    const id = parseRunId(e.runId);
    if (!id) continue;
    const cur = newest.get(e.runId);
    if (!cur || compareAttempts(e.attempt, cur.attempt) > 0) newest.set(e.runId, { runId: e.runId, attempt: e.attempt, date: id.logicalDate, job: id.job });
  }
  const byJob = new Map<string, { runId: string; attempt: string; date: string }[]>();
  for (const r of newest.values()) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r]);
  const wanted = jobs.flatMap((j) => (byJob.get(j.spec.name) ?? []).sort((a, b) => (a.date < b.date ? 1 : -1)).slice(0, SPARK_RUNS));
  const records = new Map<string, RunRecord>();
  (await registry.getMany(wanted)).forEach((rec) => rec && records.set(rec.runId, rec));
  return Promise.all(
    jobs.map(async (j): Promise<JobView> => {
      const runs = (byJob.get(j.spec.name) ?? []).sort((a, b) => (a.date < b.date ? 1 : -1)).slice(0, SPARK_RUNS);
      const recs = runs.map((r) => records.get(r.runId)).filter((r): r is RunRecord => r !== undefined);
      const s = j.spec.schedule;
      return {
        name: j.spec.name,
        description: j.spec.description,
        schedule: s ? { cron: s.cron, timezone: s.timezone, next: safeNext(s.cron, s.timezone, now) } : undefined,
        model: j.spec.model.ref ?? j.spec.model.uri ?? '?',
        version: await currentVersion(j, models),
        last: recs[0],
        recent: recs
          .filter((r) => r.rowsRead !== undefined && ['succeeded', 'failed', 'held'].includes(r.status) && (r.rowsRead ?? 0) > 0)
          .reverse()
          .map((r) => ({ date: r.logicalDate, rows: r.rowsRead ?? 0, rejectedRate: (r.rowsRejected ?? 0) / Math.max(1, r.rowsRead ?? 0) })),
      };
    }),
  );
}

function safeNext(cron: string, tz: string, now: Date): Date | undefined {
  try {
    return nextTicks(cron, tz, now, 1)[0]?.at;
  } catch {
    return undefined;
  }
}

async function currentVersion(j: LoadedJob, models: ModelRegistry | undefined): Promise<number | undefined> {
  if (!j.spec.model.ref || !models) return undefined;
  // A job that names another registry than the dashboard's: its alias is not looked up here.
  if (j.spec.model.registry !== undefined && j.spec.model.registry !== models.uri) return undefined;
  try {
    const ref = parseModelRef(j.spec.model.ref);
    if (ref.kind === 'version') return ref.version;
    return (await models.alias(ref.name, ref.alias))?.record.version;
  } catch {
    return undefined;
  }
}
