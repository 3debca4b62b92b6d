/**
 * Finalize's half of a speculative split (issue #17; formats/csv/speculative-split.ts): the plan
 * guessed where each range's first record starts, and each shard counted its range's quote
 * bytes and physical lines (RangeCensus). Quote parity adds up over ranges, so the quote state
 * at every range's start is known here without reading the object: a guess holds when every
 * earlier range of the object together holds an even number of quotes (the first range starts
 * after the header, read from byte 0). Lines add up too: a range's lines before it are the
 * sum over the earlier ranges, which turns its errors file's lines (and its input error's) into
 * the object's, exactly as a serial split would have numbered them.
 *
 * A guess that does not hold means a range started inside a quoted field: its shard read a
 * quoted text as records. Nothing of such an object may be published: the attempt fails with
 * the reason, before any report or _SUCCESS is written.
 */
import { Readable } from 'node:stream';
import { InputError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import type { StoreRef } from '../storage/stores.js';
import { shiftErrorLines } from './error-lines.js';
import { errorsName, joinKey } from './output-layout.js';

export interface SettledShards {
  /** The shards, their errors files now numbered by the object's lines (or dropped, see failure). */
  readonly shards: ShardResult[];
  /** Why the attempt must fail: a guess the shards refuted, or an input error of a range whose start held. */
  readonly failure: string | undefined;
}

type Censused = ShardResult & { readonly census: NonNullable<ShardResult['census']> };

export async function settleSpeculativeRanges(out: StoreRef, attempt: string, shards: readonly ShardResult[]): Promise<SettledShards> {
  const settled = [...shards];
  let failure: string | undefined;
  for (const group of objectChains(shards)) {
    const verdict = checkChain(group);
    failure ??= verdict.failure;
    for (const [i, s] of group.entries()) {
      const at = settled.indexOf(s);
      const shift = verdict.shifts?.[i];
      // Without a proven chain, lines (and rows) of these ranges mean nothing: report no errors file.
      settled[at] = shift === undefined ? { ...s, errorsKey: undefined, errorsBytes: undefined } : await shiftErrors(out, attempt, s, shift);
    }
  }
  return { shards: settled, failure };
}

/** Each speculatively split object's ranges, in object order (shards are named in plan order). */
function objectChains(shards: readonly ShardResult[]): Censused[][] {
  const chains = new Map<string, Censused[]>();
  for (const s of [...shards].sort((a, b) => a.shard.localeCompare(b.shard))) {
    if (!s.census) continue;
    const chain = chains.get(s.object) ?? [];
    chain.push(s as Censused);
    chains.set(s.object, chain);
  }
  return [...chains.values()];
}

/** Lines to add to each range's, when every guess holds; else why not. */
function checkChain(chain: readonly Censused[]): { shifts?: number[]; failure?: string } {
  const first = chain[0] as Censused;
  const object = first.object;
  // The first range starts after the header and knows its lines; the others start at 0.
  if (first.census.linesBefore === 0) return { failure: `internal error: the first range of ${object} has no shard result` };
  const shifts: number[] = [];
  let lines = first.census.linesBefore;
  let inQuotes = false;
  let inputError: string | undefined;
  for (const [i, s] of chain.entries()) {
    const c = s.census;
    if (i > 0 && c.start !== (chain[i - 1] as Censused).census.end + 1)
      return { failure: `internal error: the ranges of ${object} before byte ${c.start} have no shard result` };
    if (inQuotes) {
      return {
        failure:
          `${object}: the plan guessed that a record starts at byte ${c.start} (shard ${s.shard}), but a quoted field ` +
          `opened before it is still open there; nothing was published (the shards read part of a quoted field as records)`,
      };
    }
    const shift = lines - c.linesBefore;
    shifts.push(shift);
    if (c.inputError && inputError === undefined) inputError = new InputError(c.inputError.location, c.inputError.reason).shifted(shift).message;
    lines += c.lines;
    inQuotes = inQuotes !== c.oddQuotes;
  }
  return inputError === undefined ? { shifts } : { shifts, failure: inputError };
}

/**
 * Writes the shard's errors file under its final name with the object's line numbers and removes
 * the unshifted one. Safe to repeat (a retried finalize): once the unshifted file is gone, the
 * final one is what it became.
 */
async function shiftErrors(out: StoreRef, attempt: string, s: ShardResult, shift: number): Promise<ShardResult> {
  if (s.errorsKey === undefined) return s;
  const finalKey = joinKey(out.key, errorsName(s.shard, attempt));
  if (await out.store.head(s.errorsKey)) {
    const shifted = Readable.from(shiftErrorLines((await out.store.read(s.errorsKey)) as AsyncIterable<Buffer>, shift), { objectMode: false });
    await out.store.write(finalKey, shifted, { contentType: 'text/csv' });
    await out.store.delete(s.errorsKey);
  }
  const written = await out.store.head(finalKey);
  // Missing: verifyParts says so (with the unshifted name's size, which cannot match).
  return { ...s, errorsKey: finalKey, errorsBytes: written?.size ?? s.errorsBytes };
}
