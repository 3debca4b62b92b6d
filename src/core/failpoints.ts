/**
 * Fault-injection points for the fault suite (test/faults-*.test.ts). Off unless the environment
 * variable NIGHTSHIFT_FAILPOINTS names them (comma-separated); each fires once per process:
 * - `block-event-loop:<ms>` at `shard-batch`: busy-waits, as a long GC pause or a hung native call
 *   would, so the worker loses its BullMQ lock mid-shard;
 * - `crash` at `before-success`: SIGKILLs the process between the report and _SUCCESS;
 * - `throw` at `challenger-batch`: the challenger's session.run throws (a challenger failure);
 * - `exit-thread` at `shard-batch`: a shard thread (never the main thread) ends with
 *   process.exit(7), without an 'error' event, as a thread torn down under it would.
 */
import { isMainThread } from 'node:worker_threads';

const fired = new Set<string>();

export function failpoint(at: 'shard-batch' | 'before-success' | 'challenger-batch'): void {
  const spec = process.env.NIGHTSHIFT_FAILPOINTS;
  if (!spec) return;
  for (const entry of spec.split(',')) {
    const [where, action, arg] = entry.split(':');
    if (where !== at || fired.has(entry)) continue;
    fired.add(entry);
    if (action === 'block-event-loop') {
      const until = Date.now() + Number(arg ?? 0);
      while (Date.now() < until) {
        // busy: nothing else runs on this thread
      }
    } else if (action === 'crash') {
      process.kill(process.pid, 'SIGKILL');
    } else if (action === 'exit-thread') {
      if (!isMainThread) process.exit(7);
    } else if (action === 'throw') {
      throw new Error(`failpoint ${at}:throw`);
    }
  }
}
