/** Scores one shard of a run and returns its result to the run's finalize step. */
import type { Job } from 'bullmq';
import { LockLostError, RunCancelledError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import { partFormat } from '../formats/parts/part-formats.js';
import { shardPayloadSchema, type ShardPayload } from '../queue/payloads.js';
import { scoreShard } from '../scoring/score-shard.js';
import { parseLocation } from '../spec/uri.js';
import type { WorkerContext } from './context.js';
import { watchCancel } from './cancel-watch.js';
import { shardChallengers } from '../run/challenger-model.js';
import { challengerJobSpec } from '../spec/challenger-spec.js';
import type { JobSpec } from '../spec/job-spec.js';

const PROGRESS_EVERY_MS = 1_000;

export async function processShard(ctx: WorkerContext, job: Job, token: string | undefined, signal?: AbortSignal): Promise<ShardResult> {
  const p = shardPayloadSchema.parse(job.data);
  const watch = watchCancel(ctx.registry, p.runId, p.attempt, signal);
  try {
    if (await ctx.registry.isCancelled(p.runId, p.attempt)) throw watch.error();
    return await scoreShardJob(ctx, job, token, p, watch.signal);
  } catch (err) {
    // An abort surfaces as whatever the stream in flight threw: the cancellation is the cause.
    throw watch.cancelled() ? watch.error() : err;
  } finally {
    watch.stop();
  }
}

async function scoreShardJob(ctx: WorkerContext, job: Job, token: string | undefined, p: ShardPayload, signal: AbortSignal): Promise<ShardResult> {
  const loaded = ctx.scorers.spec(p.specFile, p.specText);
  const scorer = await ctx.scorers.scorer(loaded.spec, { uri: p.modelUri }, p.runId, p.modelSha256, signal);
  const inputLoc = parseLocation(p.object.uri, loaded.baseDir);
  const input = ctx.stores.resolve(inputLoc);
  const out = ctx.stores.resolve(parseLocation(p.outputUri, loaded.baseDir));
  let lastReport = 0;
  // The challenger's scorer comes from the same cache: its pool or session is shared by every shard of the run.
  const c = p.challenger;
  const challenger = c
    ? shardChallengers(loaded.spec, c.name, () =>
        ctx.scorers.scorer(challengerJobSpec(loaded.spec) as JobSpec, { uri: c.uri }, p.runId, c.sha256, signal),
      ).forShard(p.partKey)
    : undefined;
  const result = await scoreShard(
    {
      spec: loaded.spec,
      scorer,
      format: partFormat(loaded.spec),
      signal,
      challenger,
      beforePublish: async () => {
        // A cancelled attempt's part is never completed (its upload is aborted instead).
        if (await ctx.registry.isCancelled(p.runId, p.attempt))
          throw new RunCancelledError(`${p.runId} attempt ${p.attempt} was cancelled: part not completed`);
        if (!token) return;
        if ((await job.extendLock(token, ctx.lockDurationMs)) !== 1) {
          throw new LockLostError(
            `shard ${p.shard} of ${p.runId} ${p.attempt}: this worker lost its lock (another worker owns the shard now); not publishing its part`,
          );
        }
      },
      onProgress: (rows) => {
        const now = Date.now();
        if (now - lastReport < PROGRESS_EVERY_MS) return;
        lastReport = now;
        void job.updateProgress({ rows }).catch(() => undefined);
        void ctx.registry.shardProgress(p.runId, p.attempt, p.shard, rows).catch(() => undefined);
      },
    },
    {
      shard: p.shard,
      input: { store: input.store, key: input.key, display: p.object.uri, size: p.object.size },
      ...(p.range ? { range: p.range } : {}),
      output: {
        store: out.store,
        partKey: p.partKey,
        errorsKey: p.errorsKey,
      },
    },
  );
  await ctx.registry.shardProgress(p.runId, p.attempt, p.shard, result.rowsRead);
  await ctx.registry.shardDone(p.runId, p.attempt, p.shard);
  return result;
}
