/**
 * A Scorer that runs inference on a small pool of worker threads, each with its own session.
 * The main thread keeps parsing, writing and renewing BullMQ locks while a batch is scored.
 * Feature buffers are transferred, not copied (each batch owns fresh arrays).
 */
import { Worker } from 'node:worker_threads';
import type { ColumnarBatch, ScoreColumns } from '../core/types.js';
import { ModelError } from '../core/errors.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { Scorer } from './onnx-scorer.js';
import type { ThreadInit, ThreadRequest, ThreadResponse } from './thread-protocol.js';

interface Slot {
  readonly worker: Worker;
  busy: number;
}

type Pending = { resolve: (r: ThreadResponse) => void; reject: (e: Error) => void };

// From TypeScript sources (tests, tsx) the thread needs tsx registered first; see the .dev.mjs.
const entry = new URL(import.meta.url.endsWith('.ts') ? './inference-thread.dev.mjs' : './inference-thread.js', import.meta.url);

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  private constructor() {}

  static async start(model: Uint8Array, size: number, threadsPerSession: number): Promise<ThreadPool> {
    const pool = new ThreadPool();
    await Promise.all(Array.from({ length: size }, () => pool.spawn(model, threadsPerSession)));
    return pool;
  }

  private spawn(model: Uint8Array, threads: number): Promise<void> {
    const init: ThreadInit = { model, threads };
    const worker = new Worker(entry, { workerData: init });
    const slot: Slot = { worker, busy: 0 };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: ThreadResponse) => {
        if (msg.kind === 'ready') return resolve();
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        slot.busy--;
        p.resolve(msg);
      });
      worker.once('error', (err) => {
        reject(new ModelError(`inference thread failed to start: ${err.message}`, { cause: err }));
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
  }

  request(req: ThreadRequest, transfer: ArrayBuffer[]): Promise<ThreadResponse> {
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      slot.worker.postMessage(req, transfer);
    });
  }

  newId(): number {
    return this.nextId++;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

export class ThreadScorer implements Scorer {
  constructor(
    private readonly pool: ThreadPool,
    private readonly spec: JobSpec,
  ) {}

  async score(batch: ColumnarBatch): Promise<ScoreColumns[]> {
    const features = this.spec.model.inputs.map((inp) => {
      const data = batch.features.get(inp.name);
      if (!data) throw new Error(`batch has no feature array for model input "${inp.name}"`);
      return { name: inp.name, dtype: inp.dtype, width: inp.columns.length, data };
    });
    const transfer = features.flatMap((f) => (Array.isArray(f.data) ? [] : [f.data.buffer as ArrayBuffer]));
    const fetches = this.spec.model.outputs.map((o) => o.name);
    const res = await this.pool.request({ kind: 'run', id: this.pool.newId(), rows: batch.rows, fetches, features }, [...new Set(transfer)]);
    if (res.kind === 'error') throw new Error(`inference failed: ${res.message}`);
    if (res.kind !== 'result') throw new Error(`unexpected answer from inference thread: ${res.kind}`);
    return this.spec.model.outputs.map((o, i) => {
      const out = res.outputs[i];
      if (!out) throw new Error(`model returned no output "${o.name}"`);
      const width = out.dims.length === 2 ? (out.dims[1] ?? 1) : 1;
      if (out.dims[0] !== batch.rows || width !== o.columns.length) {
        throw new Error(`model output "${o.name}" has shape [${out.dims.join(', ')}], expected [${batch.rows}, ${o.columns.length}]`);
      }
      return { name: o.name, width, values: out.values };
    });
  }

  async close(): Promise<void> {
    // The pool is shared; its owner closes it.
  }
}
