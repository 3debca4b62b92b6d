/**
 * Late runs: a scheduled job with `schedule.lateAfter` expects each tick's run to have succeeded
 * that long after the tick. At the deadline the scheduler looks the run up in the run registry;
 * if no attempt succeeded, the run is late: one replica (claimed in Redis) sends the `late`
 * webhook event and records it in `<prefix>:late`, which nightshift_run_late{job} reads until a
 * later success of that run clears it.
 */
import type { Redis } from 'ioredis';
import { recordLate, runState } from '../queue/late-record.js';
import type { RunRegistry } from '../queue/run-registry.js';
import { notifyLate, type LateRun } from '../run/notify-run.js';
import { runIdFor } from '../run/run-identity.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { windowMs } from './catch-up.js';
import type { Tick } from './cron-ticks.js';
import { logicalDateForTick } from './logical-date.js';

export interface LateDeps {
  readonly redis: Redis;
  readonly prefix: string;
  readonly registry: RunRegistry;
  /** This replica's name in the claim. */
  readonly replica: string;
  /** Sends the webhooks (default: notifyLate in the background). */
  readonly notify?: (job: LoadedJob, late: LateRun) => void;
}

const CLAIM_TTL_S = 14 * 86_400;

/** When the tick's run must have succeeded; undefined for a job without lateAfter. */
export function lateDeadline(job: LoadedJob, tick: Tick): Date | undefined {
  const after = job.spec.schedule?.lateAfter;
  return after === undefined ? undefined : new Date(tick.at.getTime() + windowMs(after));
}

/**
 * Checks the tick's run at its deadline. Returns the late run when this replica reported it,
 * undefined when the run succeeded in time or another replica reported it.
 */
export async function checkLate(deps: LateDeps, job: LoadedJob, tick: Tick): Promise<LateRun | undefined> {
  const schedule = job.spec.schedule;
  const deadline = lateDeadline(job, tick);
  if (!schedule || !deadline) return undefined;
  const date = logicalDateForTick(tick, schedule);
  const runId = runIdFor(job.spec.name, date);
  const { latest, succeeded } = await runState(deps.registry, job.spec.name, runId);
  if (succeeded) return undefined;
  const claimed = await deps.redis.set(`${deps.prefix}:sched:late:${runId}`, deps.replica, 'EX', CLAIM_TTL_S, 'NX');
  if (claimed !== 'OK') return undefined;
  const status = latest?.status ?? 'not started';
  const late: LateRun = {
    runId,
    job: job.spec.name,
    logicalDate: date,
    status,
    attempt: latest?.attempt,
    tick: tick.at.toISOString(),
    deadline: deadline.toISOString(),
    reason: `no successful run of ${runId} by ${deadline.toISOString()} (schedule.lateAfter ${schedule.lateAfter ?? ''} after the ${tick.localDate} ${tick.localTime} tick); ${latest ? `attempt ${latest.attempt} is ${status}${latest.reason ? `: ${latest.reason}` : ''}` : 'no attempt was recorded'}`,
  };
  await recordLate(deps.redis, deps.prefix, job.spec.name, { runId, deadline: late.deadline });
  (deps.notify ?? ((j, l) => void notifyLate(j.spec, l)))(job, late);
  return late;
}
