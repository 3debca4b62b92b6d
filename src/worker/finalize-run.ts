/**
 * The finalize step of a run: merge shard results, check that every row is accounted for,
 * write the report, and publish (_SUCCESS, then _latest.json) only if every shard succeeded.
 */
import type { Job } from 'bullmq';
import type { ShardResult } from '../core/types.js';
import { reportReason } from '../core/outcomes.js';
import { finalizePayloadSchema, type PlanPayload, type RunRef } from '../queue/payloads.js';
import { buildReport, failureReason, totalRows, type RunFacts } from '../report/run-report.js';
import { monitorRun } from '../run/monitor-run.js';
import { notifyRun } from '../run/notify-run.js';
import { publishRun, updateLatest } from '../run/publish.js';
import { joinKey, runFileAttempt } from '../run/output-layout.js';
import type { StoreRef } from '../storage/stores.js';
import { parseLocation } from '../spec/uri.js';
import { renderTemplate } from '../spec/templates.js';
import { isFinalFailure } from '../queue/outcomes.js';
import { UnrecoverableError } from '../queue/bullmq.js';
import { finalizeDuration, runsTotal } from '../core/metrics.js';
import { recordSuccess } from '../queue/queue-metrics.js';
import type { WorkerContext } from './context.js';

export async function processFinalize(ctx: WorkerContext, job: Job): Promise<{ status: string }> {
  const p = finalizePayloadSchema.parse(job.data);
  const started = performance.now();
  await ctx.registry.update(p.runId, p.attempt, { status: 'finalizing' });
  const loaded = ctx.scorers.spec(p.specFile, p.specText);
  const values = (await job.getChildrenValues()) as Record<string, ShardResult>;
  const failures = await job.getIgnoredChildrenFailures();
  const shards = Object.values(values).sort((a, b) => a.shard.localeCompare(b.shard));
  let failure: string | undefined;
  const failed = Object.entries(failures);
  if (failed.length > 0) {
    const [key, reason] = failed[0] as [string, string];
    failure = `${failed.length} of ${p.shards} shard(s) failed; shard ${key.slice(key.lastIndexOf('#') + 1)}: ${reason}`;
  } else if (shards.length !== p.shards) {
    failure = `internal error: ${shards.length} shard results for ${p.shards} planned shards`;
  } else {
    failure = failureReason(totalRows(shards), loaded.spec.limits.maxErrorRate);
  }
  const report = buildReport(runFacts(p, { model: p.model, inputUri: p.inputUri, outputUri: p.outputUri, maxErrorRate: loaded.spec.limits.maxErrorRate }), shards, failure);
  const out = ctx.stores.resolve(parseLocation(p.outputUri, loaded.baseDir));
  await abortLeftovers(out, p.attempt);
  await monitorRun({ spec: loaded.spec, specFile: p.specFile, baseDir: loaded.baseDir, stores: ctx.stores, out }, report, shards);
  await publishRun(out, report);
  await updateLatest(ctx.stores, loaded.spec.output.uri, loaded.baseDir, report);
  void notifyRun(loaded.spec, report);
  await ctx.registry.update(p.runId, p.attempt, {
    status: report.status,
    finishedAt: report.finishedAt,
    rowsRead: report.rows.read,
    rowsScored: report.rows.scored,
    rowsRejected: report.rows.rejected,
    shardsDone: shards.length,
    ...(report.reason ? { reason: report.reason } : {}),
  });
  const log = ctx.log.child({ job: p.job, runId: p.runId, attempt: p.attempt });
  runsTotal.inc({ job: p.job, status: report.status });
  finalizeDuration.observe({ job: p.job, status: report.status }, (performance.now() - started) / 1000);
  if (report.status === 'succeeded') await recordSuccess(ctx.registry.redisClient, ctx.prefix, p.job, new Date(report.finishedAt));
  const fields = { status: report.status, rows: report.rows, shards: p.shards, ...(report.reason ? { reason: report.reason } : {}) };
  if (report.status !== 'succeeded') {
    log.warn(fields, `run ${p.runId} ${p.attempt} ${report.status}: ${report.reason ?? ''}`);
    // Queue tools (Bull Board, getFailed, alerts on failed jobs) see the run's outcome on its
    // finalize job. Unrecoverable: the report is written; a retry would only write it again.
    throw new UnrecoverableError(`run ${report.status}: ${report.reason ?? 'see the report'}`);
  }
  log.info(fields, `run ${p.runId} ${p.attempt} succeeded`);
  return { status: report.status };
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
  try {
    const loaded = ctx.scorers.spec(p.specFile, p.specText);
    const outputUri = renderTemplate(loaded.spec.output.uri, { date: p.logicalDate, runId: p.runId, job: p.job });
    const loc = parseLocation(outputUri, loaded.baseDir);
    const report = buildReport(runFacts(p, { model: undefined, inputUri: loaded.spec.input.uri, outputUri, maxErrorRate: loaded.spec.limits.maxErrorRate }), [], reason);
    await publishRun(ctx.stores.resolve(loc), report);
  } catch {
    // The spec itself may be what failed; the registry already says why.
  }
}

/** Uploads of this attempt that never completed (a worker killed mid-part) are cancelled. */
async function abortLeftovers(out: StoreRef, attempt: string): Promise<void> {
  try {
    const prefix = joinKey(out.key, '');
    await out.store.abortIncompleteWrites(prefix, (key) => runFileAttempt(key.slice(prefix.length)) === attempt);
  } catch {
    // Some S3-compatible stores do not list multipart uploads; a lifecycle rule covers them.
  }
}

/** The run-level facts of a report: identity and times from the payload, the rest from the step. */
function runFacts(p: RunRef, rest: Pick<RunFacts, 'model' | 'inputUri' | 'outputUri' | 'maxErrorRate'>): RunFacts {
  return { runId: p.runId, attempt: p.attempt, job: p.job, logicalDate: p.logicalDate, startedAt: new Date(p.triggeredAt), finishedAt: new Date(), ...rest };
}
