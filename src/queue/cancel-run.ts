/**
 * Cancelling a run attempt (`nightshift cancel`, POST /runs/:id/cancel). The run record is the
 * one source of truth: once it says `cancelled` no step changes it again (RunRegistry.update),
 * so every step that was already running finds out and stops:
 * - the record flips to cancelled atomically with releasing the run's turn, so a waiting rerun
 *   starts at once (also when the attempt died without its death being recorded);
 * - queued plan and shard jobs are removed (BullMQ removes only jobs no worker holds);
 * - active shards learn it from the record, which they poll (BullMQ's Worker.cancelJob reaches
 *   only the worker's own process), abort their reads and uploads, and fail without retry;
 * - the attempt's finalize, which runs once no shard is left, publishes nothing and removes the
 *   attempt's parts and errors files (they are removed here too, for an attempt with no jobs).
 * An attempt that is finalizing with its finalize job running is past cancelling: it may be
 * writing _SUCCESS, and a run record cannot stop an S3 write already sent.
 */
import type { Job } from 'bullmq';
import { RunStateError } from '../core/errors.js';
import { discardAttempt } from '../run/discard-attempt.js';
import type { StoreRef } from '../storage/stores.js';
import { Queue } from './bullmq.js';
import { finalizeJobId, planJobId, SHARDS_QUEUE, shardJobId } from './names.js';
import type { RunRegistry, RunState } from './run-registry.js';
import { shardName } from '../run/output-layout.js';

export interface CancelRequest {
  /** The attempt to cancel; default: the one that holds the run, else the newest. */
  readonly attempt?: string;
  /** Who asked (recorded; never a secret). */
  readonly by: string;
  readonly reason?: string;
}

export interface CancelResult {
  readonly runId: string;
  readonly attempt: string;
  /** The status the attempt had when it was cancelled. */
  readonly previous: RunState;
  /** Queued plan and shard jobs removed from the queues. */
  readonly removedJobs: number;
  readonly message: string;
}

export interface CancelDeps {
  readonly runs: Queue;
  readonly registry: RunRegistry;
  /** The run's output location: the attempt's files are removed at once when given. */
  readonly output?: StoreRef;
}

/** States an attempt can be cancelled from without asking its finalize job first. */
const CANCELLABLE: readonly RunState[] = ['queued', 'planning', 'running'];

/** Cancels an attempt; undefined when the run (or that attempt) does not exist. */
export async function cancelRun(deps: CancelDeps, runId: string, req: CancelRequest): Promise<CancelResult | undefined> {
  const attempt = req.attempt ?? (await deps.registry.activeAttempt(runId))?.attempt ?? (await deps.registry.get(runId))?.attempt;
  if (!attempt) return undefined;
  const rec = await deps.registry.get(runId, attempt);
  if (!rec) return undefined;
  const from =
    rec.status === 'finalizing' && (await removeIdleJob(deps.runs, finalizeJobId(runId, attempt))) ? [...CANCELLABLE, 'finalizing' as const] : CANCELLABLE;
  const reason = `cancelled by ${req.by}${req.reason ? `: ${req.reason}` : ''}`;
  const answer = await deps.registry.cancel(runId, attempt, from, { by: req.by, reason, finishedAt: new Date().toISOString() });
  if (!answer.cancelled) {
    if (answer.status === undefined) return undefined;
    throw new RunStateError(refusal(runId, attempt, answer.status));
  }
  let removedJobs = (await removeIdleJob(deps.runs, planJobId(runId, attempt))) ? 1 : 0;
  removedJobs += await removeQueuedShards(deps, runId, attempt, rec.shards ?? 0);
  // Shards still active may write a part after this; the attempt's finalize removes those.
  if (deps.output) await discardAttempt(deps.output, attempt);
  const message = `cancelled ${runId} attempt ${attempt} (was ${answer.status ?? rec.status}); ${removedJobs} queued job(s) removed; nothing of it will be published`;
  return { runId, attempt, previous: answer.status ?? rec.status, removedJobs, message };
}

function refusal(runId: string, attempt: string, status: RunState): string {
  if (status === 'finalizing') return `${runId} attempt ${attempt} is finalizing (publishing now): too late to cancel`;
  return `${runId} attempt ${attempt} has already ended (${status}): nothing to cancel`;
}

/**
 * Removes a job no worker holds. True when it is gone (or was never there, or had ended); false
 * when a worker is running it (BullMQ refuses to remove a locked job).
 */
async function removeIdleJob(queue: Queue, id: string): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job) return true;
  return removeUnlessActive(job);
}

async function removeUnlessActive(job: Job): Promise<boolean> {
  const state = await job.getState();
  if (state === 'active') return false;
  if (state === 'completed' || state === 'failed' || state === 'unknown') return true;
  try {
    await job.remove({ removeChildren: true });
    return true;
  } catch {
    // Taken by a worker between the two calls: it finds the record cancelled and stops.
    return false;
  }
}

async function removeQueuedShards(deps: CancelDeps, runId: string, attempt: string, count: number): Promise<number> {
  if (count === 0) return 0;
  const shards = new Queue(SHARDS_QUEUE, { connection: deps.registry.redisClient, prefix: deps.runs.opts.prefix ?? 'bull' });
  shards.on('error', () => undefined);
  try {
    let removed = 0;
    for (let i = 0; i < count; i++) {
      const job = await shards.getJob(shardJobId(runId, attempt, shardName(i)));
      if (job && ['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(await job.getState()) && (await removeUnlessActive(job))) removed++;
    }
    return removed;
  } finally {
    await shards.close();
  }
}
