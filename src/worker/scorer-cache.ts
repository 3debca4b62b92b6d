/**
 * Specs, models and sessions a worker process keeps warm: one parse per spec text, one fetch of
 * a model per run, and per (model, threads) one onnxruntime session on this thread and one pool
 * of inference threads, reused by every shard that needs them.
 */
import { createHash } from 'node:crypto';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, fetchModel, type LoadedModel, type ModelSource } from '../model/load-model.js';
import { OnnxScorer, type Scorer } from '../model/onnx-scorer.js';
import type { ModelMetadata } from '../model/check-mapping.js';
import { type InferenceThread, ThreadPool, ThreadScorer } from '../model/thread-scorer.js';
import { parseJobSpec, type LoadedJob } from '../spec/load-spec.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { Stores } from '../storage/stores.js';

export class ScorerCache {
  private readonly specs = new Map<string, LoadedJob>();
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private readonly pools = new Map<string, Promise<ThreadPool>>();
  private readonly spares: InferenceThread[];

  /**
   * `inference: 'thread'` runs session.run on `threads` worker threads (each its own session), so
   * the event loop stays free for lock renewal and I/O, and this thread never loads onnxruntime;
   * 'main' runs it between parse batches. `spares`: threads already started, for the first pool.
   */
  constructor(
    private readonly stores: Stores,
    private readonly inference: { mode: 'main' | 'thread'; threads: number; spares?: readonly InferenceThread[] } = { mode: 'main', threads: 1 },
  ) {
    this.spares = [...(inference.spares ?? [])];
  }

  spec(specFile: string, specText: string): LoadedJob {
    const key = createHash('sha256').update(specFile).update('\0').update(specText).digest('hex');
    let job = this.specs.get(key);
    if (!job) {
      job = parseJobSpec(specText, specFile);
      this.specs.set(key, job);
    }
    return job;
  }

  /**
   * A model as a run's plan resolved it: its bytes are fetched once per run (`run`, e.g. the run
   * id) and process, so the next run of the job sees a model file that changed since.
   */
  model(source: ModelSource, run: string, expectSha256?: string): Promise<LoadedModel> {
    const runKey = `${run}\0${source.uri}\0${source.sha256 ?? ''}\0${expectSha256 ?? ''}`;
    const model = cached(this.models, runKey, () => fetchModel(source, this.stores, expectSha256));
    // Only the run keys are bounded here; sessions and pools are few (one per distinct model).
    if (this.models.size > 64) this.models.delete(this.models.keys().next().value as string);
    return model;
  }

  /**
   * What the model declares, for checking a job's mapping. In thread mode this starts the
   * inference threads' sessions, which the run's shards then score with.
   */
  async metadata(model: LoadedModel, threads: number): Promise<ModelMetadata> {
    return this.inference.mode === 'thread' ? (await this.pool(model, threads)).metadata : this.session(model, threads);
  }

  /** A session on this thread ('main' inference), keyed by sha256 so runs of an unchanged model share it. */
  private session(model: LoadedModel, threads: number): Promise<InferenceSession> {
    return cached(this.sessions, `${model.sha256}\0${threads}`, () => createSession(model, threads));
  }

  /** A scorer of `spec`'s mapping with the model at `source` (as the run's plan resolved it). */
  async scorer(spec: JobSpec, source: ModelSource, run: string, expectSha256?: string): Promise<Scorer> {
    const model = await this.model(source, run, expectSha256);
    if (this.inference.mode === 'thread') {
      // Not awaited here: a shard whose threads are still starting (a worker that did not plan
      // this run) opens its input and parses its first batch meanwhile. A pool that fails to
      // start fails the first score() call, with the same ModelError.
      const scorer = this.pool(model, spec.model.threads).then((pool) => new ThreadScorer(pool, spec));
      scorer.catch(() => undefined); // a shard that fails before its first batch never awaits it
      return { score: async (b) => (await scorer).score(b), close: async () => undefined };
    }
    // The session is shared: closing a scorer must not release it.
    const inner = new OnnxScorer(await this.session(model, spec.model.threads), spec);
    return { score: (b) => inner.score(b), close: async () => undefined };
  }

  private pool(model: LoadedModel, threads: number): Promise<ThreadPool> {
    return cached(this.pools, `${model.sha256}\0${threads}`, () => ThreadPool.start(model, this.inference.threads, threads, this.spares));
  }

  async close(): Promise<void> {
    await Promise.all(this.spares.splice(0).map((t) => t.terminate()));
    const sessions = [...this.sessions.values()];
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const p of pools) await (await p.catch(() => undefined))?.close();
    this.models.clear();
    this.sessions.clear();
    for (const s of sessions.reverse()) await (await s.catch(() => undefined))?.release();
  }
}

/** The promise under `key`, created once; a failure is forgotten so the next caller tries again. */
function cached<T>(map: Map<string, Promise<T>>, key: string, create: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = create();
    map.set(key, value);
    value.catch(() => map.delete(key));
  }
  return value;
}
