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
import { planShards, resolveRun, type PlannedShard, type ResolvedRun } from '../run/run-plan.js';
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
  // Stops the reads still running when the plan ends early (a serial split may read a whole object).
  const planEnded = new AbortController();
  try {
    const loaded = ctx.scorers.spec(p.specFile, p.specText);
    const run = resolveRun(loaded, p.logicalDate);
    const values: TemplateValues = { date: p.logicalDate, runId: p.runId, job: p.job };
    // The plan's reads do not need one another's results, so they run at once; each is taken in
    // the order the plan checks them, so a plan fails with the error it failed with when they ran
    // one after another (and a renumbered attempt uses none of them).
    const renumbered = renumberIfBehind(ctx, loaded, p, run, log);
    const reads = startReads(ctx, loaded, p, run, values, AbortSignal.any(signal ? [signal, planEnded.signal] : [planEnded.signal]));
    if (await renumbered) return { shards: 0 };
    const model = await reads.champion;
    const challenger = await reads.challenger;
    await reads.baseline;
    const { inputs, planned } = await reads.shards;
    const shards = shardPayloads(planned, p, run, model, challenger);
    const { inputUri, outputUri } = run;
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
  } finally {
    planEnded.abort();
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

interface PlanReads {
  /** The model, fetched, loaded and checked against the job's mapping. */
  readonly champion: Promise<LoadedModel>;
  readonly challenger: Promise<PlannedChallenger | undefined>;
  /** A baseline that is corrupt or does not fit fails the plan; its profile is finalize's to read. */
  readonly baseline: Promise<unknown>;
  readonly shards: Promise<{ inputs: InputObject[]; planned: PlannedShard[] }>;
}

/** Starts every read of the plan; a failure surfaces where its promise is awaited, never as an unhandled rejection. */
function startReads(ctx: WorkerContext, loaded: LoadedJob, p: PlanPayload, run: ResolvedRun, values: TemplateValues, signal?: AbortSignal): PlanReads {
  // A ref is resolved here, once: every shard gets the version and sha256 pinned now.
  const source = resolveModelSource(loaded.spec.model, loaded.baseDir, ctx.stores, values, p.model);
  const champion = source.then(async (s) => {
    const model = await ctx.scorers.model(s, p.runId, undefined, signal);
    checkModelMapping(loaded.spec, await ctx.scorers.metadata(model, loaded.spec.model.threads), p.specFile, modelDisplayName(s));
    return model;
  });
  const challenger = planChallenger(
    loaded,
    ctx.stores,
    values,
    {
      fetch: (s) => ctx.scorers.model(s, p.runId, undefined, signal),
      // After the champion's: its session (in thread mode, its pool) takes the threads started ahead.
      metadata: async (m, threads) => {
        await champion.catch(() => undefined);
        return ctx.scorers.metadata(m, threads);
      },
    },
    signal,
  );
  const baseline = source.then((s) =>
    loadBaseline({
      spec: loaded.spec,
      specFile: p.specFile,
      baseDir: loaded.baseDir,
      stores: ctx.stores,
      logicalDate: p.logicalDate,
      model: s.version,
      ...(signal ? { signal } : {}),
    }),
  );
  const shards = resolveInputs(run.inputUri, loaded.baseDir, ctx.stores, signal).then(async (inputs) => ({
    inputs,
    planned: await planShards(loaded.spec, inputs, ctx.stores.resolve(run.output).key, p.attempt, signal),
  }));
  const reads = { champion, challenger, baseline, shards };
  for (const r of Object.values(reads)) r.catch(() => undefined);
  return reads;
}

function shardPayloads(
  planned: PlannedShard[],
  p: PlanPayload,
  run: ResolvedRun,
  model: LoadedModel,
  challenger: PlannedChallenger | undefined,
): ShardPayload[] {
  const c = challenger?.model;
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
