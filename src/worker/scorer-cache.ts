/**
 * Specs, models and sessions a worker process keeps warm: one parse per spec text, one fetch of
 * a model per run, and per (model, threads) one onnxruntime session on this thread and one pool
 * of inference threads, reused by every shard that needs them.
 */
import { createHash } from 'node:crypto';
import { CancelledError } from '../core/errors.js';
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
  private readonly models = new Map<string, SharedFetch>();
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
   * id) and process, so the next run of the job sees a model file that changed since. The fetch
   * is shared by the jobs that need it; `signal` (the job's) stops this caller waiting without
   * stopping the fetch for the others; the fetch itself is aborted once no caller waits for it.
   */
  model(source: ModelSource, run: string, expectSha256?: string, signal?: AbortSignal): Promise<LoadedModel> {
    if (signal?.aborted) return Promise.reject(stoppedWaiting(source.uri, signal));
    const runKey = `${run}\0${source.uri}\0${source.sha256 ?? ''}\0${expectSha256 ?? ''}`;
    let shared = this.models.get(runKey);
    if (!shared) {
      shared = startFetch((s) => fetchModel(source, this.stores, expectSha256, s));
      this.models.set(runKey, shared);
      // A failed or abandoned fetch is forgotten, so the next caller tries again.
      const entry = shared;
      const forget = (): void => void (this.models.get(runKey) === entry && this.models.delete(runKey));
      entry.model.catch(forget);
      entry.controller.signal.addEventListener('abort', forget, { once: true });
      // Only the run keys are bounded here; sessions and pools are few (one per distinct model).
      if (this.models.size > 64) this.models.delete(this.models.keys().next().value as string);
    }
    return waitFor(shared, source.uri, signal);
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

  /**
   * A scorer of `spec`'s mapping with the model at `source` (as the run's plan resolved it).
   * `signal`: the job's, which stops it waiting for a model download shared with other jobs.
   */
  async scorer(spec: JobSpec, source: ModelSource, run: string, expectSha256?: string, signal?: AbortSignal): Promise<Scorer> {
    const model = await this.model(source, run, expectSha256, signal);
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

  /** Aborts the downloads still running (whoever waits for them fails with a CancelledError), then releases threads and sessions. */
  async close(): Promise<void> {
    for (const shared of this.models.values()) if (!shared.settled) shared.controller.abort(new CancelledError('the worker is shutting down'));
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

/** A model download and the jobs waiting for it. */
interface SharedFetch {
  readonly model: Promise<LoadedModel>;
  readonly controller: AbortController;
  /** Callers still waiting; a caller without a signal waits to the end. */
  waiters: number;
  settled: boolean;
}

function startFetch(fetch: (signal: AbortSignal) => Promise<LoadedModel>): SharedFetch {
  const controller = new AbortController();
  const shared: SharedFetch = { model: fetch(controller.signal), controller, waiters: 0, settled: false };
  shared.model.then(
    () => (shared.settled = true),
    () => (shared.settled = true),
  );
  return shared;
}

/**
 * The shared download's result for one caller. A caller whose signal aborts stops waiting at
 * once (CancelledError); when it was the last one waiting, the download is aborted too.
 */
function waitFor(shared: SharedFetch, uri: string, signal: AbortSignal | undefined): Promise<LoadedModel> {
  if (shared.settled) return shared.model;
  shared.waiters++;
  if (!signal) return shared.model;
  return new Promise((resolve, reject) => {
    const leave = (): void => {
      shared.waiters--;
      if (shared.waiters === 0 && !shared.settled) shared.controller.abort(new CancelledError(`no job waits for model ${uri} any more`));
      reject(stoppedWaiting(uri, signal));
    };
    signal.addEventListener('abort', leave, { once: true });
    shared.model.then(resolve, reject).finally(() => signal.removeEventListener('abort', leave));
  });
}

function stoppedWaiting(uri: string, signal: AbortSignal): CancelledError {
  const why = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
  return new CancelledError(`stopped waiting for model ${uri}: ${why}`, { cause: signal.reason });
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
