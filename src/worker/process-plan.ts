/**
 * The plan step of a run: check the model against the spec, resolve the inputs for the logical
 * date, cut large objects into byte ranges, and enqueue one shard job per unit plus a finalize
 * job that runs when all shards are done (a BullMQ flow).
 */
import type { Job } from 'bullmq';
import { DelayedError } from '../queue/bullmq.js';
import { checkModelMapping } from '../model/check-mapping.js';
import type { LoadedModel } from '../model/load-model.js';
import { modelDisplayName, resolveModelSource } from '../registry/resolve-model.js';
import { modelFacts } from '../report/run-report.js';
import { loadBaseline } from '../run/baseline.js';
import { finalizeJobId, RUNS_QUEUE, SHARDS_QUEUE, shardJobId } from '../queue/names.js';
import { jobRetentionOptions } from '../queue/retention.js';
import { planPayloadSchema, type FinalizePayload, type PlanPayload, type RunRef, type ShardPayload } from '../queue/payloads.js';
import { resolveInputs, type InputObject } from '../run/resolve-inputs.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { TemplateValues } from '../spec/templates.js';
import { planShards, resolveRun, type ResolvedRun } from '../run/run-plan.js';
import { formatLocation } from '../spec/uri.js';
import { isActiveState } from '../queue/run-registry.js';
import type { WorkerContext } from './context.js';
import { planChallenger, type PlannedChallenger } from '../run/challenger-model.js';
import { renumberIfBehind } from './renumber-attempt.js';

export async function processPlan(ctx: WorkerContext, job: Job, token: string | undefined, signal?: AbortSignal): Promise<{ shards: number }> {
  const p = planPayloadSchema.parse(job.data);
  // Cancelled while queued (and taken before its job could be removed): it never runs.
  if (await ctx.registry.isCancelled(p.runId, p.attempt)) return { shards: 0 };
  await waitForEarlierRuns(ctx, job, p, token);
  if (!(await takeTurn(ctx, job, p, token))) return { shards: 0 };
  if (!(await ctx.registry.update(p.runId, p.attempt, { status: 'planning', startedAt: new Date().toISOString(), reason: '' })))
    return cancelledBeforeShards(ctx, p);
  const log = ctx.log.child({ job: p.job, runId: p.runId, attempt: p.attempt });
  log.info({ trigger: p.triggeredAt, bullAttempt: job.attemptsMade + 1 }, `planning ${p.runId} ${p.attempt}`);
  try {
    const loaded = ctx.scorers.spec(p.specFile, p.specText);
    const run = resolveRun(loaded, p.logicalDate);
    if (await renumberIfBehind(ctx, loaded, p, run, log)) return { shards: 0 };
    const values: TemplateValues = { date: p.logicalDate, runId: p.runId, job: p.job };
    // A ref is resolved here, once: every shard gets the version and sha256 pinned now.
    const source = await resolveModelSource(loaded.spec.model, loaded.baseDir, ctx.stores, values, p.model);
    const model = await ctx.scorers.model(source, p.runId, undefined, signal);
    checkModelMapping(loaded.spec, await ctx.scorers.metadata(model, loaded.spec.model.threads), p.specFile, modelDisplayName(source));
    const challenger = await planChallenger(
      loaded,
      ctx.stores,
      values,
      { fetch: (s) => ctx.scorers.model(s, p.runId, undefined, signal), metadata: (m, threads) => ctx.scorers.metadata(m, threads) },
      signal,
    );
    await loadBaseline({
      spec: loaded.spec,
      specFile: p.specFile,
      baseDir: loaded.baseDir,
      stores: ctx.stores,
      logicalDate: p.logicalDate,
      model: source.version,
      ...(signal ? { signal } : {}),
    });
    const { inputUri, outputUri } = run;
    const inputs = await resolveInputs(inputUri, loaded.baseDir, ctx.stores, signal);
    const shards = await shardPayloads(ctx, loaded, inputs, p, run, model, challenger, signal);
    const finalize: FinalizePayload = {
      ...runRef(p),
      kind: 'finalize',
      inputUri,
      outputUri,
      ...(run.latestRoot ? { latestUri: formatLocation(run.latestRoot) } : {}),
      shards: shards.length,
      plannedAt: new Date().toISOString(),
      model: modelFacts(model),
      ...(challenger ? { challenger: challenger.facts } : {}),
    };
    // Cancelled while planning: enqueue nothing. (Cancelled just after this check, the shards
    // find out when they start and the finalize step removes whatever they wrote.)
    if (await ctx.registry.isCancelled(p.runId, p.attempt)) return cancelledBeforeShards(ctx, p);
    await ctx.flow.add({
      name: 'finalize',
      queueName: RUNS_QUEUE,
      data: finalize,
      opts: { jobId: finalizeJobId(p.runId, p.attempt), attempts: 3, backoff: { type: 'exponential', delay: 2_000 }, ...jobRetentionOptions(ctx.retention) },
      children: shards.map((s) => ({
        name: 'shard',
        queueName: SHARDS_QUEUE,
        data: s,
        opts: {
          jobId: shardJobId(p.runId, p.attempt, s.shard),
          attempts: ctx.shardAttempts,
          ...jobRetentionOptions(ctx.retention),
          backoff: { type: 'exponential', delay: 1_000 },
          // A failed shard must not leave its run hanging: finalize runs and reports the failure.
          ignoreDependencyOnFailure: true,
        },
      })),
    });
    await ctx.registry.update(p.runId, p.attempt, { status: 'running', shards: shards.length, output: outputUri });
    log.info(
      { shards: shards.length, inputs: inputs.length, output: outputUri, model: model.uri },
      `planned ${p.runId} ${p.attempt}: ${shards.length} shard(s)`,
    );
    return { shards: shards.length };
  } catch (caught) {
    log.warn({ err: caught }, `plan of ${p.runId} ${p.attempt} failed`);
    const err = await ctx.handBack(job, caught);
    // Loaded on failure only: the finalize modules are not on a plan's way to its shards.
    const { failRunEarly } = await import('./finalize-run.js');
    await failRunEarly(ctx, job, p, err);
    throw err;
  }
}

/** A cancelled attempt that took the run's turn gives it back: a waiting rerun may start. */
async function cancelledBeforeShards(ctx: WorkerContext, p: PlanPayload): Promise<{ shards: number }> {
  await ctx.turns.release(p.runId, p.attempt);
  ctx.log.info({ job: p.job, runId: p.runId, attempt: p.attempt, status: 'cancelled' }, `${p.runId} ${p.attempt} was cancelled before its shards were queued`);
  return { shards: 0 };
}

function runRef(p: PlanPayload): RunRef {
  return { runId: p.runId, attempt: p.attempt, job: p.job, logicalDate: p.logicalDate, specFile: p.specFile, specText: p.specText, triggeredAt: p.triggeredAt };
}

/**
 * Serial runs (overlap: queue, backfills) wait for older active runs of the same job. Ordering
 * by trigger time (then run id) means two waiting runs can never wait for each other.
 */
async function waitForEarlierRuns(ctx: WorkerContext, job: Job, p: PlanPayload, token: string | undefined): Promise<void> {
  if (!p.serial || !token) return;
  const mine = `${p.triggeredAt}\0${p.runId}#${p.attempt}`;
  const earlier = (await ctx.registry.active(p.job)).filter((r) => `${r.triggeredAt}\0${r.runId}#${r.attempt}` < mine);
  if (earlier.length === 0) return;
  await ctx.registry.update(p.runId, p.attempt, { status: 'queued', reason: `waiting for ${earlier[0]?.runId} (${earlier[0]?.attempt})` });
  await job.moveToDelayed(Date.now() + 2_000, token);
  throw new DelayedError();
}

/** How often a waiting rerun looks again whether the run's active attempt has ended. */
const TURN_POLL_MS = 500;

/**
 * At most one active attempt per run: a rerun waits (delayed, status queued) while an older
 * attempt holds the run, and an attempt that a newer rerun overtook before it started ends as
 * superseded without running. False when this attempt must not run.
 */
async function takeTurn(ctx: WorkerContext, job: Job, p: PlanPayload, token: string | undefined): Promise<boolean> {
  for (;;) {
    const answer = await ctx.turns.take(p.runId, p.attempt);
    if (answer.kind === 'granted') return true;
    if (answer.kind === 'superseded') {
      await ctx.registry.update(p.runId, p.attempt, {
        status: 'superseded',
        finishedAt: new Date().toISOString(),
        reason: `superseded by attempt ${answer.newest} before it started`,
      });
      return false;
    }
    const holder = await ctx.registry.get(p.runId, answer.holder);
    if (holder && isActiveState(holder.status)) {
      // Cancelled while it waited: it never runs.
      if (
        !(await ctx.registry.update(p.runId, p.attempt, {
          status: 'queued',
          reason: `waiting for attempt ${answer.holder} (${holder.status}) of this run to finish`,
        }))
      )
        return false;
      if (!token) throw new Error(`plan of ${p.runId} ${p.attempt}: no lock token to wait with`);
      await job.moveToDelayed(Date.now() + TURN_POLL_MS, token);
      throw new DelayedError();
    }
    // The holder ended without releasing the turn (killed after recording its status): free it.
    await ctx.turns.replaceEnded(p.runId, answer.holder);
  }
}

async function shardPayloads(
  ctx: WorkerContext,
  loaded: LoadedJob,
  inputs: InputObject[],
  p: PlanPayload,
  run: ResolvedRun,
  model: LoadedModel,
  challenger: PlannedChallenger | undefined,
  signal?: AbortSignal,
): Promise<ShardPayload[]> {
  const c = challenger?.model;
  const planned = await planShards(loaded.spec, inputs, ctx.stores.resolve(run.output).key, p.attempt, signal);
  return planned.map(({ shard, unit, partKey, errorsKey }) => ({
    ...runRef(p),
    kind: 'shard',
    shard,
    object: { uri: unit.input.display, size: unit.input.size },
    ...(unit.range ? { range: unit.range } : {}),
    outputUri: run.outputUri,
    partKey,
    errorsKey,
    modelUri: model.uri,
    modelSha256: model.sha256,
    ...(c && challenger ? { challenger: { uri: c.uri, sha256: c.sha256, name: challenger.name } } : {}),
  }));
}
