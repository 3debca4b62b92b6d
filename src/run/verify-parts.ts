/**
 * The last check before _SUCCESS: every part and errors file a run is about to list exists
 * with the size its shard wrote, belongs to this attempt, and the parts' row counts add up to
 * the run's. A part deleted or replaced since its shard finished (a concurrent cleanup, an
 * operator, a bug) fails the run with the reason instead of publishing a manifest whose parts
 * are gone.
 */
import type { ShardResult } from '../core/types.js';
import type { StoreRef } from '../storage/stores.js';
import { joinKey, runFileAttempt } from './output-layout.js';

/** Why the run must not publish these shards' files, or undefined when they are all in place. */
export async function verifyParts(out: StoreRef, attempt: string, shards: readonly ShardResult[], expectedScored: number): Promise<string | undefined> {
  let rows = 0;
  const prefix = joinKey(out.key, '');
  for (const s of shards) {
    if (s.partKey === undefined) return `shard ${s.shard} reported no part`;
    rows += s.rowsScored;
    const files: [string, number | undefined][] = [[s.partKey, s.partBytes]];
    if (s.errorsKey !== undefined) files.push([s.errorsKey, s.errorsBytes]);
    for (const [key, bytes] of files) {
      if (!key.startsWith(prefix)) return `shard ${s.shard} wrote ${key} outside the run's output prefix`;
      // Relative to the output prefix: part-… or _errors/errors-….
      const name = key.slice(prefix.length);
      if (runFileAttempt(name) !== attempt) return `shard ${s.shard} wrote ${name}, which is not a file of attempt ${attempt}`;
      const found = await out.store.head(key);
      if (!found) return `${name} of shard ${s.shard} is missing from ${out.store.name}/${out.key} (nothing published)`;
      if (bytes !== undefined && found.size !== bytes)
        return `${name} of shard ${s.shard} has ${found.size} bytes, its shard wrote ${bytes} (nothing published)`;
    }
  }
  if (rows !== expectedScored) return `internal error: the parts hold ${rows} rows, the run scored ${expectedScored} (nothing published)`;
  return undefined;
}
