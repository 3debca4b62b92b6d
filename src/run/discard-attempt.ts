/**
 * What an attempt leaves behind when it stops before publishing: its finished parts and errors
 * files, and uploads it never completed (a killed worker, a cancelled `score`).
 */
import type { StoreRef } from '../storage/stores.js';
import { joinKey, runFileAttempt } from './output-layout.js';

/** Cancels this attempt's uploads that never completed. */
export async function abortLeftovers(out: StoreRef, attempt: string): Promise<void> {
  try {
    const prefix = joinKey(out.key, '');
    await out.store.abortIncompleteWrites(prefix, (key) => runFileAttempt(key.slice(prefix.length)) === attempt);
  } catch {
    // Some S3-compatible stores do not list multipart uploads; a lifecycle rule covers them.
  }
}

/** Removes every file of this attempt (never another attempt's): for an attempt that will not publish. */
export async function discardAttempt(out: StoreRef, attempt: string): Promise<void> {
  const prefix = joinKey(out.key, '');
  await abortLeftovers(out, attempt);
  for await (const o of out.store.list(prefix)) {
    if (runFileAttempt(o.key.slice(prefix.length)) === attempt) await out.store.delete(o.key);
  }
}
