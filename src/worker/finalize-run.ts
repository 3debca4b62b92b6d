/**
 * The finalize job of a run: gathers the shard jobs' results and failures and runs the shared
 * finalize stage (run/finalize-attempt.ts), fenced by this attempt's turn (queue/run-turns.ts):
 * it publishes only if every shard succeeded and the attempt still holds the run. Then it records
 * the outcome and releases the turn, so a waiting rerun can start.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import type { ShardResult } from '../core/types.js';
import { reportReason } from '../core/outcomes.js';
import { finalizePayloadSchema, type PlanPayload, type RunRef } from '../queue/payloads.js';
import { buildReport, type RunFacts } from '../report/run-report.js';
import { finalizeAttempt } from '../run/finalize-attempt.js';
import { publishRun, type PublishFence } from '../run/publish.js';
import { isActiveState } from '../queue/run-registry.js';
import { parseLocation } from '../spec/uri.js';
import { resolveRun } from '../run/run-plan.js';
import { isFinalFailure } from '../queue/outcomes.js';
import { UnrecoverableError } from '../queue/bullmq.js';
import { finalizeDuration, runsTotal } from '../core/metrics.js';
import { recordSuccess } from '../queue/queue-metrics.js';
import type { WorkerContext } from './context.js';
import { challengerSummary } from '../report/challenger-report.js';
import { endCancelledAttempt } from './cancelled-attempt.js';
import { rescoreWith } from '../run/rescore-range.js';

export async function processFinalize(ctx: WorkerContext, job: Job): Promise<{ status: string }> {
  const p = finalizePayloadSchema.parse(job.data);
  const started = performance.now();
  const before = await ctx.registry.get(p.runId, p.attempt);
  if (before?.status === 'cancelled') return endCancelledAttempt(ctx, p);
  if (before && !isActiveState(before.status)) {
    // A retried finalize of an attempt that already ended (killed after recording its status).
    await ctx.turns.release(p.runId, p.attempt);
    return { status: before.status };
  }
  if (!(await ctx.registry.update(p.runId, p.attempt, { status: 'finalizing' }))) return endCancelledAttempt(ctx, p);
  const loaded = ctx.scorers.spec(p.specFile, p.specText);
  const values = (await job.getChildrenValues()) as Record<string, ShardResult>;
  const shards = Object.values(values);
  const out = ctx.stores.resolve(parseLocation(p.outputUri, loaded.baseDir));
  const { report, publication: outcome } = await finalizeAttempt({
    facts: runFacts(p, {
      model: p.model,
      inputUri: p.inputUri,
      outputUri: p.outputUri,
      maxErrorRate: loaded.spec.limits.maxErrorRate,
      challenger: p.challenger,
    }),
    shards,
    shardFailure: shardFailure(p.shards, shards.length, await job.getIgnoredChildrenFailures()),
    monitor: {
      spec: loaded.spec,
      specFile: p.specFile,
      baseDir: loaded.baseDir,
      stores: ctx.stores,
      out,
    },
    latestRoot: p.latestUri === undefined ? undefined : parseLocation(p.latestUri, '/'),
    fence: workerFence(ctx, p.runId, p.attempt),
    // A wrong guess of a speculative split: the proven range is scored again here (run/rescore-range.ts).
    rescore: rescoreWith({
      spec: loaded.spec,
      scorer: () => ctx.scorers.scorer(loaded.spec, { uri: p.model.uri }, p.runId, p.model.sha256),
      out,
      attempt: p.attempt,
      input: (object) => ctx.stores.resolve(parseLocation(object, loaded.baseDir)),
      onRescore: (r) =>
        ctx.log.warn(
          { job: p.job, runId: p.runId, attempt: p.attempt, object: r.object, start: r.range.start, end: r.range.end },
          `${p.runId} ${p.attempt}: a planned record start in ${r.object} lay inside a quoted field; scoring bytes ${r.range.start}–${r.range.end} again as shard ${r.shard}`,
        ),
    }),
  });
  const superseded = outcome.kind === 'superseded';
  await ctx.registry.update(p.runId, p.attempt, {
    status: superseded ? 'superseded' : report.status,
    finishedAt: report.finishedAt,
    rowsRead: report.rows.read,
    rowsScored: report.rows.scored,
    rowsRejected: report.rows.rejected,
    shardsDone: shards.length,
    ...(report.challenger ? { challenger: challengerSummary(report.challenger) } : {}),
    ...(superseded
      ? { reason: `not published: ${outcome.by ? `attempt ${outcome.by} published after it started` : 'it no longer holds the run (a newer attempt does)'}` }
      : report.reason
        ? { reason: report.reason }
        : {}),
  });
  // The run is free for a waiting rerun once this attempt's outcome is recorded.
  await ctx.turns.release(p.runId, p.attempt);
  const status = superseded ? 'superseded' : report.status;
  const log = ctx.log.child({ job: p.job, runId: p.runId, attempt: p.attempt });
  runsTotal.inc({ job: p.job, status });
  finalizeDuration.observe({ job: p.job, status }, (performance.now() - started) / 1000);
  if (status === 'succeeded') await recordSuccess(ctx.registry.redisClient, ctx.prefix, p.job, new Date(report.finishedAt));
  const fields = { status, rows: report.rows, shards: p.shards, ...(report.reason ? { reason: report.reason } : {}) };
  if (superseded) {
    // Not a failure of this attempt: a newer one published; it removed its own files.
    log.info(fields, `run ${p.runId} ${p.attempt} superseded by ${outcome.by ?? 'a newer attempt'}: nothing published`);
    return { status };
  }
  if (report.status !== 'succeeded') {
    log.warn(fields, `run ${p.runId} ${p.attempt} ${report.status}: ${report.reason ?? ''}`);
    // Queue tools (Bull Board, getFailed, alerts on failed jobs) see the run's outcome on its
    // finalize job. Unrecoverable: the report is written; a retry would only write it again.
    throw new UnrecoverableError(`run ${report.status}: ${report.reason ?? 'see the report'}`);
  }
  log.info(fields, `run ${p.runId} ${p.attempt} succeeded`);
  return { status };
}

/** Shard jobs that failed for good (BullMQ's ignored child failures), or results missing: the run fails. */
function shardFailure(planned: number, results: number, failures: Record<string, string>): string | undefined {
  const failed = Object.entries(failures);
  if (failed.length > 0) {
    const [key, reason] = failed[0] as [string, string];
    return `${failed.length} of ${planned} shard(s) failed; shard ${key.slice(key.lastIndexOf('#') + 1)}: ${reason}`;
  }
  return results === planned ? undefined : `internal error: ${results} shard results for ${planned} planned shards`;
}

/** The Redis half of the fence: this attempt holds the run's turn; others' activity from the registry. */
function workerFence(ctx: WorkerContext, runId: string, attempt: string): PublishFence {
  return {
    mayPublish: () => ctx.turns.holds(runId, attempt),
    isActive: async (other) => {
      const rec = await ctx.registry.get(runId, other);
      return (rec !== undefined && isActiveState(rec.status)) || (await ctx.turns.holder(runId)) === other;
    },
  };
}

/**
 * A run whose plan failed for good (bad spec, model or input, or out of retries) still gets a
 * failed report, so the output prefix says why.
 */
export async function failRunEarly(ctx: WorkerContext, job: Job, p: PlanPayload, err: unknown): Promise<void> {
  if (!isFinalFailure(err, job.attemptsMade, job.opts.attempts)) return;
  const reason = reportReason(err);
  await ctx.registry.update(p.runId, p.attempt, { status: 'failed', finishedAt: new Date().toISOString(), reason });
  runsTotal.inc({ job: p.job, status: 'failed' });
  ctx.log.warn({ job: p.job, runId: p.runId, attempt: p.attempt, status: 'failed', reason }, `run ${p.runId} ${p.attempt} failed before its shards: ${reason}`);
  await ctx.turns.release(p.runId, p.attempt);
  try {
    const loaded = ctx.scorers.spec(p.specFile, p.specText);
    const run = resolveRun(loaded, p.logicalDate);
    const report = buildReport(
      runFacts(p, { model: undefined, inputUri: loaded.spec.input.uri, outputUri: run.outputUri, maxErrorRate: loaded.spec.limits.maxErrorRate }),
      [],
      reason,
    );
    // publishRun writes a failed report only if no newer attempt's report is there.
    await publishRun(ctx.stores.resolve(run.output), report);
  } catch {
    // The spec itself may be what failed; the registry already says why.
  }
}

/**
 * A plan or finalize job that failed for good, including one BullMQ failed because its workers
 * kept dying (stalled too often), which no processor saw: record the attempt as failed and free
 * the run, so a waiting rerun does not wait for it forever.
 */
export async function recordFinalFailure(ctx: WorkerContext, job: Job, err: Error): Promise<void> {
  if (!(await job.isFailed())) return;
  const p = z.object({ runId: z.string(), attempt: z.string() }).safeParse(job.data);
  if (!p.success) return;
  const rec = await ctx.registry.get(p.data.runId, p.data.attempt);
  if (rec && isActiveState(rec.status)) {
    await ctx.registry.update(p.data.runId, p.data.attempt, {
      status: 'failed',
      finishedAt: new Date().toISOString(),
      reason: `${job.name} step failed: ${err.message}`,
    });
  }
  await ctx.turns.release(p.data.runId, p.data.attempt);
}

/** The run-level facts of a report: identity and times from the payload, the rest from the step. */
function runFacts(p: RunRef, rest: Pick<RunFacts, 'model' | 'inputUri' | 'outputUri' | 'maxErrorRate' | 'challenger'>): RunFacts {
  return { runId: p.runId, attempt: p.attempt, job: p.job, logicalDate: p.logicalDate, startedAt: new Date(p.triggeredAt), finishedAt: new Date(), ...rest };
}
