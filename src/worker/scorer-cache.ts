/**
 * Specs, models and sessions a worker process keeps warm: one parse per spec text and one
 * onnxruntime session per (model, threads), reused by every shard that needs them.
 */
import { createHash } from 'node:crypto';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, fetchModel, type LoadedModel } from '../model/load-model.js';
import { OnnxScorer, type Scorer } from '../model/onnx-scorer.js';
import { ThreadPool, ThreadScorer } from '../model/thread-scorer.js';
import { parseJobSpec, type LoadedJob } from '../spec/load-spec.js';
import type { TemplateValues } from '../spec/templates.js';
import type { Stores } from '../storage/stores.js';

interface CachedModel {
  readonly model: LoadedModel;
  readonly session: InferenceSession;
}

export class ScorerCache {
  private readonly specs = new Map<string, LoadedJob>();
  private readonly byRun = new Map<string, Promise<CachedModel>>();
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private readonly pools = new Map<string, Promise<ThreadPool>>();

  /**
   * `inference: 'thread'` runs session.run on `threads` worker threads (each its own session), so
   * the event loop stays free for lock renewal and I/O; 'main' runs it between parse batches.
   */
  constructor(
    private readonly stores: Stores,
    private readonly inference: { mode: 'main' | 'thread'; threads: number } = { mode: 'main', threads: 1 },
  ) {}

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
   * A session for the job's model as rendered for this run. Bytes are fetched once per run and
   * process; sessions are keyed by the model's sha256, so nightly runs of an unchanged model
   * share one session instead of piling up.
   */
  async model(job: LoadedJob, values: TemplateValues, expectSha256?: string): Promise<CachedModel> {
    const runKey = `${job.baseDir}\0${job.spec.model.uri}\0${values.date}\0${job.spec.model.threads}\0${expectSha256 ?? ''}`;
    let entry = this.byRun.get(runKey);
    if (!entry) {
      entry = (async () => {
        const model = await fetchModel(job.spec, job.baseDir, this.stores, values, expectSha256);
        const sessionKey = `${model.sha256}\0${job.spec.model.threads}`;
        let session = this.sessions.get(sessionKey);
        if (!session) {
          session = createSession(model, job.spec.model.threads);
          this.sessions.set(sessionKey, session);
          session.catch(() => this.sessions.delete(sessionKey));
        }
        return { model, session: await session };
      })();
      this.byRun.set(runKey, entry);
      entry.catch(() => this.byRun.delete(runKey));
      // Only the run keys are bounded here; sessions are few (one per distinct model).
      if (this.byRun.size > 64) this.byRun.delete(this.byRun.keys().next().value as string);
    }
    return entry;
  }

  async scorer(job: LoadedJob, values: TemplateValues, expectSha256?: string): Promise<Scorer> {
    const { session, model } = await this.model(job, values, expectSha256);
    if (this.inference.mode === 'thread') {
      const key = `${model.sha256}\0${job.spec.model.threads}`;
      let pool = this.pools.get(key);
      if (!pool) {
        pool = ThreadPool.start(model.bytes, this.inference.threads, job.spec.model.threads);
        this.pools.set(key, pool);
        pool.catch(() => this.pools.delete(key));
      }
      return new ThreadScorer(await pool, job.spec);
    }
    // The session is shared: closing a scorer must not release it.
    const inner = new OnnxScorer(session, job.spec);
    return { score: (b) => inner.score(b), close: async () => undefined };
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const p of pools) await (await p.catch(() => undefined))?.close();
    this.byRun.clear();
    this.sessions.clear();
    for (const s of sessions.reverse()) await (await s.catch(() => undefined))?.release();
  }
}
