/**
 * Worker-thread side of ThreadScorer: owns one onnxruntime session and runs batches posted by
 * the main thread, so session.run (synchronous native code) never blocks the main event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import type { ThreadInit, ThreadRequest, ThreadResponse } from './thread-protocol.js';

const ort = requireCommonJs('onnxruntime-node') as typeof Ort;

const init = workerData as ThreadInit;
const port = parentPort;
if (!port) throw new Error('inference-thread must run as a worker thread');

const sessionPromise = ort.InferenceSession.create(init.model, {
  intraOpNumThreads: init.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});

port.on('message', (req: ThreadRequest) => {
  void handle(req).then(
    (res) => {
      const transfer = res.kind === 'result' ? res.outputs.flatMap((o) => (Array.isArray(o.values) ? [] : [o.values.buffer as ArrayBuffer])) : [];
      port.postMessage(res, transfer);
    },
    (err: unknown) => port.postMessage({ kind: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) } satisfies ThreadResponse),
  );
});

async function handle(req: ThreadRequest): Promise<ThreadResponse> {
  const session = await sessionPromise;
  if (req.kind === 'close') {
    await session.release();
    return { kind: 'closed', id: req.id };
  }
  const feeds: Record<string, Ort.Tensor> = {};
  for (const f of req.features) feeds[f.name] = new ort.Tensor(f.dtype, f.data, [req.rows, f.width]);
  const result = await session.run(feeds, req.fetches);
  return {
    kind: 'result',
    id: req.id,
    outputs: req.fetches.map((name) => {
      const t = result[name];
      if (!t) throw new Error(`model returned no output "${name}"`);
      return { name, dims: t.dims.map(Number), values: t.data as Float32Array };
    }),
  };
}

port.postMessage({ kind: 'ready', id: -1 } satisfies ThreadResponse);
