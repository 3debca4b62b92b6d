/** Queue names and job ids. Ids are deterministic, which is what makes triggers idempotent. */

/** Plans runs and finalizes them. */
export const RUNS_QUEUE = 'runs';
/** Scores shards. */
export const SHARDS_QUEUE = 'shards';

/** BullMQ job id of a run attempt's plan step. */
export function planJobId(runId: string, attempt: string): string {
  return `${runId}#${attempt}`;
}

export function finalizeJobId(runId: string, attempt: string): string {
  return `${runId}#${attempt}#finalize`;
}

export function shardJobId(runId: string, attempt: string, shard: string): string {
  return `${runId}#${attempt}#${shard}`;
}
