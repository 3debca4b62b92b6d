/**
 * Runs a list of shard tasks on lanes: this thread (which has its session loaded already) and N
 * shard threads (each with its own session). A lane scores one task at a time and takes the next
 * one (the largest left) when it is done; results come back in task order.
 *
 * The threads can be started before the run is planned (startShardThreads): each spends about
 * half a CPU-second importing the pipeline and onnxruntime, which then overlaps the main
 * thread's model load and plan instead of following them.
 */
import { freshBundleOr } from '../core/fresh-bundle.js';
import { startThread } from '../core/threads.js';
import { InputError, reviveError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import type { ShardTaskMessage, ShardThreadCommand, ShardThreadInit, ShardThreadReply } from './shard-thread-protocol.js';
import type { Worker } from 'node:worker_threads';

/**
 * The build's one-module bundle of shard-thread.js (scripts/bundle.mjs) when there
 * is one and it is not older than the compiled modules (a bare `tsc` leaves an old bundle
 * behind): a thread imports it in about half the CPU time of the separate modules. From sources
 * (tests, tsx), or a build without it, the thread starts from shard-thread.js.
 */
const entry = ((): URL => {
  const modules = new URL('./shard-thread.js', import.meta.url);
  if (import.meta.url.endsWith('.ts')) return modules;
  return freshBundleOr(new URL('./shard-thread.bundle.mjs', import.meta.url), modules);
})();

/** Started shard threads, waiting for their run; close() ends them whether they ran or not. */
export interface ShardThreads {
  readonly workers: readonly Worker[];
  /**
   * Hands every thread its run (once, before runOnShardThreads): each creates its session as soon
   * as it has started, while the main thread plans. A thread the run then leaves without a task
   * has made a session for nothing; it is rare (fewer shards than threads) and cheaper than
   * holding every session back until the plan.
   */
  init(init: ShardThreadInit): void;
  /** A thread's error, if it failed before its run listened (e.g. while importing modules). */
  earlyError(worker: Worker): Error | undefined;
  close(): Promise<void>;
}

export function startShardThreads(threads: number): ShardThreads {
  const workers = Array.from({ length: threads }, () => startThread(entry));
  // Until a run listens, an 'error' event without a listener would end the process: keep it,
  // and an exit (a thread can end without an 'error', e.g. process.exit() in it) too.
  const errors = new Map<Worker, Error>();
  for (const w of workers) {
    w.once('error', (err: Error) => errors.set(w, err));
    w.once('exit', (code: number) => {
      if (!errors.has(w)) errors.set(w, threadExited(code));
    });
  }
  let closed: Promise<void> | undefined;
  return {
    workers,
    init: (init) => {
      for (const w of workers) w.postMessage({ kind: 'init', init } satisfies ShardThreadCommand);
    },
    earlyError: (w) => errors.get(w),
    close: () => (closed ??= Promise.all(workers.map((w) => w.terminate())).then(() => undefined)),
  };
}

function threadExited(code: number): Error {
  return new Error(`a shard thread exited (code ${code}) before its shard was done`);
}

export type ShardThreadTask = Omit<ShardTaskMessage, 'id' | 'kind'> & {
  /** The bytes the task reads, as far as its plan knows (lanes take the largest first). */
  readonly bytes: number;
};

/**
 * Scores task `index` on this thread, reporting the rows read so far; rejects with the shard's
 * error (an InputError fails the run as an input error, anything else as a failure).
 */
export type LocalShard = (index: number, onRows: (rows: number) => void) => Promise<ShardResult>;

/**
 * Runs the tasks on this thread (`local`, when given) and on the started threads (given their
 * run with ShardThreads.init), one task per lane at a time; the caller closes the threads. This thread is a lane because it is otherwise
 * idle while the threads score, and it has its modules and session loaded: a shard thread of its
 * own would cost its start-up, session and heap again.
 */
export async function runOnShardThreads(
  started: ShardThreads | undefined,
  tasks: readonly ShardThreadTask[],
  onProgress: (rowsByTask: readonly number[], done: number) => void,
  signal?: AbortSignal,
  local?: LocalShard,
): Promise<{ results: ShardResult[]; inputError: InputError | undefined }> {
  const results = new Array<ShardResult | undefined>(tasks.length);
  const rows = new Array<number>(tasks.length).fill(0);
  // Largest first: the last tasks are the small ones, so no lane is left scoring a big shard
  // while the others wait at the end. Results still go in task order (the output is the same).
  const order = [...tasks.keys()].sort((a, b) => (tasks[b] as ShardThreadTask).bytes - (tasks[a] as ShardThreadTask).bytes || a - b);
  let next = 0;
  let done = 0;
  let inputError: InputError | undefined;
  let failure: Error | undefined;
  /** The next task for a free lane, or undefined: none left, or a shard failed (the run fails either way). */
  const take = (): number | undefined => (next < order.length && !inputError && !failure && !signal?.aborted ? order[next++] : undefined);
  const failed = (err: unknown): void => {
    if (err instanceof InputError) inputError ??= err;
    else failure ??= err instanceof Error ? err : new Error(String(err));
  };
  const finished = (id: number, result: ShardResult): void => {
    results[id] = result;
    rows[id] = result.rowsRead;
    done++;
    onProgress(rows, done);
  };
  // A thread beyond the tasks this thread leaves would only wait: it stays idle until close().
  const workers = (started?.workers ?? []).slice(0, Math.max(local ? 0 : 1, tasks.length - (local ? 1 : 0)));
  // A cancel reaches every thread's shard (its sinks abort their writes); each then replies 'failed'.
  const cancel = (): void => {
    for (const w of workers) w.postMessage({ kind: 'cancel' } satisfies ShardThreadCommand);
  };
  signal?.addEventListener('abort', cancel, { once: true });

  /** A shard thread's lane: resolves when no task is left for it, or when the thread failed. */
  const threadLane = (w: Worker): Promise<void> =>
    new Promise<void>((laneDone) => {
      let ended = false;
      const resolve = (): void => {
        ended = true;
        laneDone();
      };
      const feed = (): void => {
        const id = take();
        if (id === undefined) return resolve();
        w.postMessage({ kind: 'task', ...(tasks[id] as ShardThreadTask), id } satisfies ShardThreadCommand);
      };
      w.on('message', (m: ShardThreadReply) => {
        if (m.kind === 'progress') {
          rows[m.id] = m.rows;
          onProgress(rows, done);
          return;
        }
        if (m.kind === 'done') finished(m.id, m.result);
        else failed(reviveError(m.error));
        feed();
      });
      const early = started?.earlyError(w);
      if (early) {
        failed(early);
        return resolve();
      }
      w.once('error', (err: Error) => {
        failed(err);
        resolve();
      });
      // A thread that ends without an 'error' (process.exit() in it, a native abort of the
      // thread) would leave its shard unanswered and the run waiting for ever.
      w.once('exit', (code: number) => {
        if (ended) return;
        failed(threadExited(code));
        resolve();
      });
      feed();
    });

  /** This thread's lane: between its shards' batches, the event loop still serves the threads' messages. */
  const localLane = async (score: LocalShard): Promise<void> => {
    for (let id = take(); id !== undefined; id = take()) {
      const i = id;
      try {
        finished(
          i,
          await score(i, (r) => {
            rows[i] = r;
            onProgress(rows, done);
          }),
        );
      } catch (err) {
        failed(err);
      }
    }
  };

  try {
    // Threads are fed first: their tasks go out before this thread starts a shard of its own.
    const lanes = workers.map(threadLane);
    if (local) lanes.push(localLane(local));
    await Promise.all(lanes);
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  if (failure) throw failure;
  return { results: results.filter((r): r is ShardResult => r !== undefined), inputError };
}
