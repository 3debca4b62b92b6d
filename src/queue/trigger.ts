/**
 * Starting a run: claims the attempt, records it, and enqueues its plan step. The plan job id is
 * derived from the run id, so a second trigger of the same run is a no-op, not a second run.
 */
import type { Queue } from 'bullmq';
import type { LoadedJob } from '../spec/load-spec.js';
import { runIdFor } from '../run/run-identity.js';
import { planJobId } from './names.js';
import type { PlanPayload } from './payloads.js';
import type { RunRecord, RunRegistry } from './run-registry.js';

export interface TriggerResult {
  readonly runId: string;
  readonly attempt: string;
  /** False when the run already existed and nothing new was enqueued. */
  readonly created: boolean;
  readonly record: RunRecord | undefined;
  /**
   * For a rerun: the attempt of the run that was active when it was queued. The rerun waits for
   * it to end, then runs and publishes; it never runs beside it (see queue/run-turns.ts).
   */
  readonly waitsFor?: { readonly attempt: string; readonly status: RunRecord['status'] };
  /** For a rerun: the previous attempt, still queued, that will now never run (superseded). */
  readonly supersedes?: string;
}

/** What a trigger did, in one line, as the CLI prints it and the HTTP API returns it. */
export function describeTrigger(r: TriggerResult): string {
  if (!r.created) return `${r.runId} already exists (attempt ${r.attempt}, ${r.record?.status ?? 'unknown'}); use --rerun to run it again`;
  const parts = [`queued ${r.runId} attempt ${r.attempt}`];
  if (r.waitsFor)
    parts.push(
      `it waits for the active attempt ${r.waitsFor.attempt} (${r.waitsFor.status}) to finish, then runs and replaces its output (a rerun never runs beside an active attempt)`,
    );
  if (r.supersedes) parts.push(`attempt ${r.supersedes} had not started and will not run (superseded)`);
  return parts.join('; ');
}

export async function triggerRun(
  runs: Queue,
  registry: RunRegistry,
  job: LoadedJob,
  logicalDate: string,
  options: { rerun?: boolean; trigger?: string; now?: Date; serial?: boolean; model?: string; floor?: number } = {},
): Promise<TriggerResult> {
  const runId = runIdFor(job.spec.name, logicalDate);
  const claim = await registry.claimAttempt(runId, options.rerun === true, options.floor);
  const attempt = claim.attempt;
  if (!claim.created) return { runId, attempt, created: false, record: await registry.get(runId, attempt) };
  const triggeredAt = (options.now ?? new Date()).toISOString();
  const record: RunRecord = { runId, attempt, job: job.spec.name, logicalDate, status: 'queued', triggeredAt, trigger: options.trigger ?? 'manual' };
  // Read before the plan is queued: the attempt that the new one will wait for, if any, and
  // the previous one if it never started (a queued attempt overtaken by a rerun never runs).
  const active = options.rerun ? await registry.activeAttempt(runId) : undefined;
  const previous = claim.previous && claim.previous !== active?.attempt ? await registry.get(runId, claim.previous) : undefined;
  const supersedes = previous?.status === 'queued' ? previous.attempt : undefined;
  await registry.create(record);
  const payload: PlanPayload = {
    kind: 'plan',
    runId,
    attempt,
    job: job.spec.name,
    logicalDate,
    specFile: job.file,
    specText: job.text,
    triggeredAt,
    ...(options.serial ? { serial: true } : {}),
    ...(options.model ? { model: options.model } : {}),
  };
  await runs.add('plan', payload, { jobId: planJobId(runId, attempt), attempts: 3, backoff: { type: 'exponential', delay: 2_000 } });
  return {
    runId,
    attempt,
    created: true,
    record,
    ...(active ? { waitsFor: { attempt: active.attempt, status: active.status } } : {}),
    ...(supersedes ? { supersedes } : {}),
  };
}
