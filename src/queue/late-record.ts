/**
 * The record of late runs in Redis (`<prefix>:late`: job → the late run and its deadline), written
 * by the scheduler when a run misses schedule.lateAfter and read by nightshift_run_late{job} at
 * scrape time; a later success of that run clears it.
 */
import type { Redis } from 'ioredis';
import type { RunRecord, RunRegistry } from './run-registry.js';

export function lateKey(prefix: string): string {
  return `${prefix}:late`;
}

/** The newest attempt of the run, and whether any attempt succeeded. */
export async function runState(registry: RunRegistry, job: string, runId: string): Promise<{ latest: RunRecord | undefined; succeeded: boolean }> {
  const latest = await registry.get(runId);
  if (latest?.status === 'succeeded') return { latest, succeeded: true };
  // A rerun in progress does not undo an earlier attempt that published.
  const attempts = (await registry.list(500, job)).filter((r) => r.runId === runId);
  return { latest, succeeded: attempts.some((r) => r.status === 'succeeded') };
}

export async function recordLate(redis: Redis, prefix: string, job: string, late: { runId: string; deadline: string }): Promise<void> {
  await redis.hset(lateKey(prefix), job, JSON.stringify(late));
}

/** Jobs whose recorded late run has still not succeeded; records of runs that since succeeded are removed. */
export async function lateJobs(redis: Redis, prefix: string, registry: RunRegistry): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  for (const [job, recorded] of Object.entries(await redis.hgetall(lateKey(prefix)))) {
    let runId: string | undefined;
    try {
      runId = (JSON.parse(recorded) as { runId?: string }).runId;
    } catch {
      runId = undefined;
    }
    const late = runId !== undefined && !(await runState(registry, job, runId)).succeeded;
    if (!late) await redis.hdel(lateKey(prefix), job);
    out.set(job, late);
  }
  return out;
}
