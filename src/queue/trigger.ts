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
}

export async function triggerRun(
  runs: Queue,
  registry: RunRegistry,
  job: LoadedJob,
  logicalDate: string,
  options: { rerun?: boolean; trigger?: string; now?: Date; serial?: boolean; model?: string } = {},
): Promise<TriggerResult> {
  const runId = runIdFor(job.spec.name, logicalDate);
  const claim = await registry.claimAttempt(runId, options.rerun === true);
  const attempt = claim.attempt;
  if (!claim.created) return { runId, attempt, created: false, record: await registry.get(runId, attempt) };
  const triggeredAt = (options.now ?? new Date()).toISOString();
  const record: RunRecord = { runId, attempt, job: job.spec.name, logicalDate, status: 'queued', triggeredAt, trigger: options.trigger ?? 'manual' };
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
  return { runId, attempt, created: true, record };
}
