/**
 * Finalize, the last stage of every run, written once for both executors (`score` in-process and
 * the workers' finalize job): account for every row, check every part is in place, build the
 * report, monitor (profile, drift, gate), publish under the caller's fence, move `_latest.json`
 * and notify. Executors only gather the shard results and say how the shards failed, if they did;
 * what they do around it (run records, metrics, the run's turn) stays theirs.
 */
import type { ShardResult } from '../core/types.js';
import { buildReport, failureReason, totalRows, type RunFacts, type RunReport } from '../report/run-report.js';
import type { Location } from '../spec/uri.js';
import { CancelledError, type InputError } from '../core/errors.js';
import { abortLeftovers, discardAttempt } from './discard-attempt.js';
import { monitorRun, type MonitorRunContext } from './monitor-run.js';
import { notifyRun } from './notify-run.js';
import { publishRun, updateLatest, type PublishFence, type PublishOutcome } from './publish.js';
import { verifyParts } from './verify-parts.js';
import { settleSpeculativeRanges, type Rescore } from './speculative-ranges.js';

export interface FinalizeInput {
  /** The run's identity, times, model and locations, as the report states them. */
  readonly facts: RunFacts;
  readonly shards: readonly ShardResult[];
  /** Why the shards failed (an input error, failed shard jobs), when they did: the run fails with it. */
  readonly shardFailure: string | undefined;
  /** Spec, stores and the run's output prefix; `judge: false` profiles without a baseline. */
  readonly monitor: MonitorRunContext;
  /** Where the job's `_latest.json` lives (none when the output was overridden). */
  readonly latestRoot: Location | undefined;
  /** The Redis half of the fence (workers); `score` has only the store's conditional writes. */
  readonly fence?: PublishFence;
  /**
   * Scores a range of a speculative split again when a guess at its start proved wrong (the
   * verified fallback, run/rescore-range.ts); without it such an attempt fails.
   */
  readonly rescore?: Rescore;
  /** Webhooks (monitor.notify); off for `nightshift profile`. */
  readonly notify?: boolean;
  /**
   * A cancel (Ctrl-C on `score`) before publishing removes this attempt's files and throws
   * CancelledError; once publishing has begun it completes, so nothing is ever half-published.
   */
  readonly signal?: AbortSignal;
}

export interface FinalizeOutcome {
  readonly report: RunReport;
  readonly publication: PublishOutcome;
  /** An input error that a range of a speculative split met (numbered by the object's lines). */
  readonly inputError: InputError | undefined;
}

export async function finalizeAttempt(i: FinalizeInput): Promise<FinalizeOutcome> {
  const { facts, monitor } = i;
  const { out } = monitor;
  // A speculative split's guesses are checked, and its errors files numbered, before anything is counted.
  const settled = await settleSpeculativeRanges(out, facts.attempt, i.shards, i.rescore);
  const shards = settled.shards.sort((a, b) => a.shard.localeCompare(b.shard));
  const totals = totalRows(shards);
  const failure =
    i.shardFailure ??
    settled.failure ??
    failureReason(totals, facts.maxErrorRate) ??
    (await verifyParts(out, facts.attempt, shards, totals.read - totals.rejected));
  const report = buildReport(facts, shards, failure);
  // Before monitoring, which writes the run's _profile.json: a cancelled attempt leaves nothing behind.
  if (i.signal?.aborted) {
    await discardAttempt(out, facts.attempt);
    throw new CancelledError(`${facts.runId}: cancelled before publishing; nothing was published and this attempt's files were removed`, {
      cause: i.signal.reason,
    });
  }
  // Uploads a killed shard left open would otherwise linger (and cost) until a lifecycle rule.
  await abortLeftovers(out, facts.attempt);
  await monitorRun(monitor, report, shards);
  const publication = await publishRun(out, report, i.fence);
  if (publication.kind === 'published') await updateLatest(monitor.stores, i.latestRoot, report);
  // After publishing, in the background: a slow or failing receiver never delays the run.
  if (i.notify !== false && publication.kind !== 'superseded') void notifyRun(monitor.spec, report);
  return { report, publication, inputError: settled.inputError };
}
