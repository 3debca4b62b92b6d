/**
 * Runs a list of shard tasks on N shard threads (each with its own session), at most one task
 * per thread at a time; results come back in task order.
 *
 * The threads can be started before the run is planned (startShardThreads): each spends about
 * half a CPU-second importing the pipeline and onnxruntime, which then overlaps the main
 * thread's model load and plan instead of following them.
 */
import { startThread } from '../core/threads.js';
import { InputError, reviveError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import type { ShardTaskMessage, ShardThreadCommand, ShardThreadInit, ShardThreadReply } from './shard-thread-protocol.js';
import type { Worker } from 'node:worker_threads';

const entry = new URL('./shard-thread.js', import.meta.url);

/** Started shard threads, waiting for their run; close() ends them whether they ran or not. */
export interface ShardThreads {
  readonly workers: readonly Worker[];
  /** A thread's error, if it failed before its run listened (e.g. while importing modules). */
  earlyError(worker: Worker): Error | undefined;
  close(): Promise<void>;
}

export function startShardThreads(threads: number): ShardThreads {
  const workers = Array.from({ length: threads }, () => startThread(entry));
  // Until a run listens, an 'error' event without a listener would end the process: keep it.
  const errors = new Map<Worker, Error>();
  for (const w of workers) w.once('error', (err: Error) => errors.set(w, err));
  let closed: Promise<void> | undefined;
  return {
    workers,
    earlyError: (w) => errors.get(w),
    close: () => (closed ??= Promise.all(workers.map((w) => w.terminate())).then(() => undefined)),
  };
}

/** Runs the tasks on started threads (one task per thread at a time); the caller closes them. */
export async function runOnShardThreads(
  started: ShardThreads,
  init: ShardThreadInit,
  tasks: readonly Omit<ShardTaskMessage, 'id' | 'kind'>[],
  onProgress: (rowsByTask: readonly number[], done: number) => void,
  signal?: AbortSignal,
): Promise<{ results: ShardResult[]; inputError: InputError | undefined }> {
  const results = new Array<ShardResult | undefined>(tasks.length);
  const rows = new Array<number>(tasks.length).fill(0);
  let next = 0;
  let done = 0;
  let inputError: InputError | undefined;
  let failure: Error | undefined;
  // A thread beyond the number of tasks would only wait: it stays idle until close().
  const workers = started.workers.slice(0, Math.max(1, tasks.length));
  for (const w of workers) w.postMessage({ kind: 'init', init } satisfies ShardThreadCommand);
  // A cancel reaches every thread's shard (its sinks abort their writes); each then replies 'failed'.
  const cancel = (): void => {
    for (const w of workers) w.postMessage({ kind: 'cancel' } satisfies ShardThreadCommand);
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              // Stop handing out work once a shard failed: the run fails either way.
              if (next >= tasks.length || inputError || failure || signal?.aborted) return resolve();
              const id = next++;
              w.postMessage({ kind: 'task', ...(tasks[id] as Omit<ShardTaskMessage, 'id' | 'kind'>), id } satisfies ShardThreadCommand);
            };
            w.on('message', (m: ShardThreadReply) => {
              if (m.kind === 'progress') {
                rows[m.id] = m.rows;
                onProgress(rows, done);
                return;
              }
              if (m.kind === 'done') {
                results[m.id] = m.result;
                rows[m.id] = m.result.rowsRead;
                done++;
                onProgress(rows, done);
              } else {
                const err = reviveError(m.error);
                if (err instanceof InputError) inputError ??= err;
                else failure ??= err;
              }
              feed();
            });
            const early = started.earlyError(w);
            if (early) return reject(early);
            w.once('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  if (failure) throw failure;
  return { results: results.filter((r): r is ShardResult => r !== undefined), inputError };
}
