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
 * quoted text as records, and the range before it ended inside that field. Their outputs are
 * removed and the span between the nearest starts that do hold (both proven by parity, so a
 * record starts at each) is scored again as one range, by the executor's `rescore`, in this
 * attempt: the verified fallback. Without `rescore` the attempt fails with the reason; either
 * way nothing read from a wrong start is ever published.
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
  /** That input error, numbered by the object's lines (`score` exits with its class). */
  readonly inputError: InputError | undefined;
}

/** A span of an object whose bounds the chain proved, to score as one shard named `shard`. */
export interface ProvenRange {
  readonly shard: string;
  /** The object, as shards name it (ShardResult.object). */
  readonly object: string;
  readonly range: {
    readonly start: number;
    readonly end: number;
    readonly header: readonly string[];
    readonly linesBefore: number;
    readonly speculative: true;
  };
}

/** Scores a proven range as the executor scores its shards (writing that shard's part and errors keys). */
export type Rescore = (r: ProvenRange) => Promise<ShardResult>;

type Censused = ShardResult & { readonly census: NonNullable<ShardResult['census']> };

export async function settleSpeculativeRanges(out: StoreRef, attempt: string, shards: readonly ShardResult[], rescore?: Rescore): Promise<SettledShards> {
  let settled = [...shards];
  let failure: string | undefined;
  let inputError: InputError | undefined;
  for (let chain of objectChains(shards)) {
    let verdict = checkChain(chain);
    while (verdict.wrongAt !== undefined && rescore) {
      const { from, to, proven } = provenSpan(chain, verdict.wrongAt);
      const replaced = chain.slice(from, to);
      await removeOutputs(out, replaced);
      const again = (await rescore(proven)) as Censused;
      settled = [...settled.filter((s) => !replaced.includes(s as Censused)), again];
      chain = [...chain.slice(0, from), again, ...chain.slice(to)];
      verdict = checkChain(chain);
    }
    if (failure === undefined) {
      failure = verdict.inputError?.message ?? verdict.failure;
      inputError = verdict.inputError;
    }
    for (const [i, s] of chain.entries()) {
      const at = settled.indexOf(s);
      const shift = verdict.shifts?.[i];
      // Without a proven chain, lines (and rows) of these ranges mean nothing: report no errors file.
      settled[at] = shift === undefined ? { ...s, errorsKey: undefined, errorsBytes: undefined } : await shiftErrors(out, attempt, s, shift);
    }
  }
  return { shards: settled, failure, inputError };
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

interface Verdict {
  /** Lines to add to each range's, when every guess holds. */
  readonly shifts?: number[];
  readonly failure?: string;
  /** The first input error of a range whose start held. */
  readonly inputError?: InputError;
  /** The first range whose guessed start lies inside a quoted field. */
  readonly wrongAt?: number;
}

function checkChain(chain: readonly Censused[]): Verdict {
  const first = chain[0] as Censused;
  const object = first.object;
  // The first range starts after the header and knows its lines; the others start at 0.
  if (first.census.linesBefore === 0) return { failure: `internal error: the first range of ${object} has no shard result` };
  const shifts: number[] = [];
  let lines = first.census.linesBefore;
  let inQuotes = false;
  let inputError: InputError | undefined;
  for (const [i, s] of chain.entries()) {
    const c = s.census;
    if (i > 0 && c.start !== (chain[i - 1] as Censused).census.end + 1)
      return { failure: `internal error: the ranges of ${object} before byte ${c.start} have no shard result` };
    if (inQuotes) {
      return {
        wrongAt: i,
        failure:
          `${object}: the plan guessed that a record starts at byte ${c.start} (shard ${s.shard}), but a quoted field ` +
          `opened before it is still open there; nothing was published (the shards read part of a quoted field as records)`,
      };
    }
    const shift = lines - c.linesBefore;
    shifts.push(shift);
    if (c.inputError && inputError === undefined) inputError = new InputError(c.inputError.location, c.inputError.reason).shifted(shift);
    lines += c.lines;
    inQuotes = inQuotes !== c.oddQuotes;
  }
  return inputError === undefined ? { shifts } : { shifts, inputError };
}

/**
 * Ranges [from, to) to score again as one: from the range before the wrong start (its own start
 * held) to the next range whose start holds by parity (or the object's end).
 */
function provenSpan(chain: readonly Censused[], wrongAt: number): { from: number; to: number; proven: ProvenRange } {
  const from = wrongAt - 1;
  let inQuotes = false;
  let to = from + 1;
  for (; to <= chain.length; to++) {
    inQuotes = inQuotes !== (chain[to - 1] as Censused).census.oddQuotes;
    if (!inQuotes || to === chain.length) break;
  }
  const first = chain[from] as Censused;
  const last = chain[to - 1] as Censused;
  const { start, linesBefore, header } = first.census;
  return { from, to, proven: { shard: first.shard, object: first.object, range: { start, end: last.census.end, header, linesBefore, speculative: true } } };
}

/** The parts and errors files of ranges about to be scored again (an input error left none). */
async function removeOutputs(out: StoreRef, shards: readonly ShardResult[]): Promise<void> {
  for (const s of shards) for (const key of [s.partKey, s.errorsKey]) if (key !== undefined) await out.store.delete(key);
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
