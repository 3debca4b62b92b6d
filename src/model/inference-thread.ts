/**
 * Worker-thread side of ThreadScorer: owns one onnxruntime session and runs batches posted by
 * the main thread, so session.run (synchronous native code) never blocks the main event loop.
 * A thread can start before its model is known (it loads onnxruntime, then waits for 'load').
 */
import { parentPort } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import { serializeError } from '../core/errors.js';
import type { ThreadRequest, ThreadResponse } from './thread-protocol.js';

const ort = requireCommonJs('onnxruntime-node') as typeof Ort;

const port = parentPort;
if (!port) throw new Error('inference-thread must run as a worker thread');

let sessionPromise: Promise<Ort.InferenceSession> | undefined;

port.on('message', (req: ThreadRequest) => {
  void handle(req).then(
    (res) => {
      const transfer = res.kind === 'result' ? res.outputs.flatMap((o) => (Array.isArray(o.values) ? [] : [o.values.buffer as ArrayBuffer])) : [];
      port.postMessage(res, transfer);
    },
    (err: unknown) => port.postMessage({ kind: 'error', id: req.id, error: serializeError(err) } satisfies ThreadResponse),
  );
});

async function handle(req: ThreadRequest): Promise<ThreadResponse> {
  if (req.kind === 'load') {
    sessionPromise = ort.InferenceSession.create(req.model, {
      intraOpNumThreads: req.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const session = await sessionPromise;
    return { kind: 'loaded', id: req.id, metadata: { inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata } };
  }
  if (!sessionPromise) throw new Error('inference thread has no model loaded');
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

initOnnxruntime();
port.postMessage({ kind: 'ready', id: -1 } satisfies ThreadResponse);

/**
 * onnxruntime sets up its environment (~20 ms) on the first session in a process. A thread that
 * starts before its model is known does it now, while it would wait anyway, not when the model
 * comes (a plan waits for it). That step has no public API: use onnxruntime-node's own, if found.
 */
function initOnnxruntime(): void {
  try {
    (requireCommonJs('onnxruntime-node/dist/binding.js') as { initOrt?: () => void }).initOrt?.();
  } catch {
    // A later onnxruntime-node may have moved it; the first session does it then.
  }
}
