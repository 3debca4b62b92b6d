/**
 * Runs a list of shard tasks on N shard threads (each with its own session), at most one task
 * per thread at a time; results come back in task order.
 */
import { startThread } from '../core/threads.js';
import { InputError, reviveError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import type { ShardTaskMessage, ShardThreadCommand, ShardThreadInit, ShardThreadReply } from './shard-thread-protocol.js';

const entry = new URL('./shard-thread.js', import.meta.url);

export async function runShardThreads(
  init: ShardThreadInit,
  tasks: readonly Omit<ShardTaskMessage, 'id' | 'kind'>[],
  threads: number,
  onProgress: (rowsByTask: readonly number[], done: number) => void,
  signal?: AbortSignal,
): Promise<{ results: ShardResult[]; inputError: InputError | undefined }> {
  const results = new Array<ShardResult | undefined>(tasks.length);
  const rows = new Array<number>(tasks.length).fill(0);
  let next = 0;
  let done = 0;
  let inputError: InputError | undefined;
  let failure: Error | undefined;
  const workers = Array.from({ length: Math.min(threads, tasks.length) }, () => startThread(entry, { workerData: init }));
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
            w.once('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', cancel);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  return { results: results.filter((r): r is ShardResult => r !== undefined), inputError };
}
