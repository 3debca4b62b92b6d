/**
 * Plans a run's challenger (model.challenger), once, beside its champion: resolve the reference
 * (pinned to a version and sha256 like the champion's), fetch the bytes and check its mapping
 * against the job's inputs. Whatever goes wrong here (unknown alias, not ONNX, a signature that
 * does not fit) is the challenger's failure, reported in the run's report; the champion's run
 * goes on without it.
 */
import { errorMessage, JobSpecError } from '../core/errors.js';
import { checkModelMapping, type ModelMetadata } from '../model/check-mapping.js';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, fetchModel, type LoadedModel, type ModelSource } from '../model/load-model.js';
import { OnnxScorer, type Scorer } from '../model/onnx-scorer.js';
import type { ChallengerShardContext } from '../scoring/challenger-shard.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { challengerPartKey } from './output-layout.js';
import { modelDisplayName, resolveModelSource } from '../registry/resolve-model.js';
import type { ChallengerFacts } from '../report/challenger-report.js';
import { modelFacts } from '../report/run-report.js';
import { challengerJobSpec } from '../spec/challenger-spec.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { TemplateValues } from '../spec/templates.js';
import type { Stores } from '../storage/stores.js';

export interface PlannedChallenger {
  readonly facts: ChallengerFacts;
  /** The challenger's bytes, when it resolved, loaded and fits the job. */
  readonly model?: LoadedModel | undefined;
  /** How shards and messages name it, e.g. "fraud@4 (fraud@challenger)". */
  readonly name: string;
}

export interface ChallengerLoader {
  /** Fetches a model's bytes (the executors' own caches). */
  fetch(source: ModelSource): Promise<LoadedModel>;
  /** What the loaded model declares: creating its session proves onnxruntime can load it. */
  metadata(model: LoadedModel, threads: number): Promise<ModelMetadata>;
}

export async function planChallenger(
  job: { readonly spec: JobSpec; readonly baseDir: string; readonly file?: string | undefined },
  stores: Stores,
  values: TemplateValues,
  loader: ChallengerLoader,
  signal?: AbortSignal,
): Promise<PlannedChallenger | undefined> {
  const spec = challengerJobSpec(job.spec);
  const c = job.spec.model.challenger;
  if (!spec || !c) return undefined;
  let name = c.ref ?? c.uri ?? 'challenger';
  let model: LoadedModel | undefined;
  try {
    const source = await resolveModelSource(c, job.baseDir, stores, values);
    name = modelDisplayName(source);
    model = await loader.fetch(source);
    checkModelMapping(spec, await loader.metadata(model, spec.model.threads), job.file, name);
    return { facts: { model: modelFacts(model) }, model, name };
  } catch (err) {
    // A cancelled run is cancelled, whatever its challenger was doing.
    signal?.throwIfAborted();
    // One line for the report: a mapping mismatch lists its problems after one another.
    const why = err instanceof JobSpecError ? err.issues.join('; ') : errorMessage(err);
    const facts: ChallengerFacts = { model: model ? modelFacts(model) : undefined, failure: `challenger ${name}: ${why}` };
    return { facts, name };
  }
}

/** A challenger as the shards of one executor (a process or thread) use it. */
export interface ShardChallengers {
  /** The context for the shard writing `partKey`. */
  forShard(partKey: string): ChallengerShardContext;
}

/**
 * `scorer` opens the challenger's scorer once, on the first shard that needs it; a failure to
 * open is reported by every shard, as the challenger's failure.
 */
export function shardChallengers(spec: JobSpec, name: string, scorer: () => Promise<Scorer>): ShardChallengers {
  let opened: Promise<Scorer> | undefined;
  const parts = spec.model.challenger?.parts ?? false;
  return {
    forShard(partKey) {
      opened ??= scorer();
      return { scorer: opened, partKey: parts ? challengerPartKey(partKey) : undefined, name };
    },
  };
}

/** The in-process executor's challenger, planned with a session on this thread. */
export interface LocalChallenger {
  readonly planned: PlannedChallenger;
  /** Undefined when the challenger failed at plan: shards run without it. */
  readonly shards: ShardChallengers | undefined;
  /** For shard threads: the model to load (each thread opens its own session). */
  readonly thread: ChallengerThreadInit | undefined;
  close(): Promise<void>;
}

/** What a shard thread needs to score with the challenger the run planned. */
export interface ChallengerThreadInit {
  readonly uri: string;
  readonly sha256: string;
  readonly name: string;
}

export async function openLocalChallenger(job: LoadedJob, stores: Stores, values: TemplateValues, signal?: AbortSignal): Promise<LocalChallenger | undefined> {
  let session: InferenceSession | undefined;
  const planned = await planChallenger(
    job,
    stores,
    values,
    { fetch: (s) => fetchModel(s, stores), metadata: async (m, threads) => (session = await createSession(m, threads)) },
    signal,
  );
  if (!planned) return undefined;
  const spec = challengerJobSpec(job.spec) as JobSpec;
  const model = planned.model;
  return {
    planned,
    shards: model
      ? shardChallengers(job.spec, planned.name, async () => {
          // The session is shared by the shards and released by close(), once.
          const inner = new OnnxScorer(session as InferenceSession, spec);
          return { score: (b) => inner.score(b), close: async () => undefined };
        })
      : undefined,
    thread: model ? { uri: model.uri, sha256: model.sha256, name: planned.name } : undefined,
    async close() {
      await session?.release();
    },
  };
}
