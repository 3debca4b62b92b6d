/**
 * A Scorer that runs inference on a small pool of worker threads, each with its own session.
 * The main thread keeps parsing, writing and renewing BullMQ locks while a batch is scored.
 * Feature buffers are transferred, not copied (each batch owns fresh arrays).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startThread } from '../core/threads.js';
import type { ColumnarBatch, ScoreColumns } from '../core/types.js';
import { ModelError, reviveError } from '../core/errors.js';
import { emptyScores, featureInputs, scoreColumns } from './batch-tensors.js';
import type { ModelMappingOptions } from '../spec/component-options.js';
import type { Scorer } from './onnx-scorer.js';
import type { ModelMetadata } from './check-mapping.js';
import type { ThreadRequest, ThreadResponse } from './thread-protocol.js';

type Pending = { resolve: (r: ThreadResponse) => void; reject: (e: Error) => void };

const entry = new URL('./inference-thread.js', import.meta.url);

/** Inference threads for a process scoring `concurrency` shards at once: one per shard, at most one per core. */
export function inferenceThreadCount(concurrency: number): number {
  return Math.max(1, Math.min(concurrency, availableParallelism()));
}

/**
 * One worker thread with onnxruntime loaded. It can start before its model is known: a worker
 * process starts its threads first thing, so their start-up (a Node thread, then onnxruntime)
 * runs on another core while the process loads the rest; the session is created on load().
 */
export class InferenceThread {
  readonly started: Promise<void>;
  busy = 0;
  /** The thread failed or exited: a pool must not take it. */
  failed = false;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private static nextId = 0;

  /** Until a pool takes it, the thread does not keep the process alive (a worker that fails to start still exits). */
  static spawn(): InferenceThread {
    return new InferenceThread();
  }

  private constructor() {
    this.worker = startThread(entry);
    this.started = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: ThreadResponse) => {
        if (msg.kind === 'ready') return resolve();
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.busy--;
        p.resolve(msg);
      });
      const fail = (err: Error): void => {
        this.failed = true;
        reject(new ModelError(`inference thread failed to start: ${err.message}`, { cause: err }));
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.once('error', fail);
      this.worker.once('exit', (code) => fail(new Error(`inference thread exited (code ${code})`)));
    });
    this.started.catch(() => undefined); // surfaced by load()
    // After the listeners: adding a 'message' listener refs the thread again.
    this.worker.unref();
  }

  /** Creates the thread's session; resolves with what the model declares. */
  async load(model: { readonly uri: string; readonly bytes: Uint8Array }, threads: number): Promise<ModelMetadata> {
    this.worker.ref();
    await this.started;
    const res = await this.request({ kind: 'load', id: InferenceThread.newId(), model: model.bytes, threads }, []);
    if (res.kind === 'loaded') return res.metadata;
    const why = res.kind === 'error' ? res.error.message : `unexpected answer "${res.kind}"`;
    throw new ModelError(`model ${model.uri} cannot be loaded by onnxruntime: ${why}`);
  }

  request(req: ThreadRequest, transfer: ArrayBuffer[]): Promise<ThreadResponse> {
    this.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.worker.postMessage(req, transfer);
    });
  }

  static newId(): number {
    return InferenceThread.nextId++;
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Threads with a session each on one model; requests go to the least busy. */
export class ThreadPool {
  private constructor(
    private readonly threads: InferenceThread[],
    readonly metadata: ModelMetadata,
  ) {}

  /** Takes threads from `spares` (started ahead, see InferenceThread) before spawning more. */
  static async start(
    model: { readonly uri: string; readonly bytes: Uint8Array },
    size: number,
    threadsPerSession: number,
    spares: InferenceThread[] = [],
  ): Promise<ThreadPool> {
    const take = (): InferenceThread => {
      for (let t = spares.shift(); t; t = spares.shift()) if (!t.failed) return t;
      return InferenceThread.spawn();
    };
    const threads = Array.from({ length: size }, take);
    try {
      const metadata = await Promise.all(threads.map((t) => t.load(model, threadsPerSession)));
      return new ThreadPool(threads, metadata[0] as ModelMetadata);
    } catch (err) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw err;
    }
  }

  request(req: ThreadRequest, transfer: ArrayBuffer[]): Promise<ThreadResponse> {
    const thread = this.threads.reduce((a, b) => (b.busy < a.busy ? b : a));
    return thread.request(req, transfer);
  }

  newId(): number {
    return InferenceThread.newId();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads.length = 0;
  }
}

export class ThreadScorer implements Scorer {
  constructor(
    private readonly pool: ThreadPool,
    private readonly spec: ModelMappingOptions,
  ) {}

  async score(batch: ColumnarBatch): Promise<ScoreColumns[]> {
    if (batch.rows === 0) return emptyScores(this.spec);
    const features = featureInputs(this.spec, batch);
    const transfer = features.flatMap((f) => (Array.isArray(f.data) ? [] : [f.data.buffer as ArrayBuffer]));
    const fetches = this.spec.model.outputs.map((o) => o.name);
    const res = await this.pool.request({ kind: 'run', id: this.pool.newId(), rows: batch.rows, fetches, features }, [...new Set(transfer)]);
    if (res.kind === 'error') throw reviveError(res.error);
    if (res.kind !== 'result') throw new Error(`unexpected answer from inference thread: ${res.kind}`);
    return scoreColumns(this.spec, batch.rows, (name) => res.outputs.find((o) => o.name === name));
  }

  async close(): Promise<void> {
    // The pool is shared; its owner closes it.
  }
}
