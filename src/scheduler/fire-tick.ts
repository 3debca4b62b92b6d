/**
 * Firing one schedule tick, safely from any number of scheduler replicas: the first replica to
 * claim the tick in Redis fires it, the others log a no-op; the run id derived from job + date
 * is a second guard. The overlap rule decides what happens while an earlier run is active.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { runIdFor } from '../run/run-identity.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { RunRegistry } from '../queue/run-registry.js';
import { triggerRun } from '../queue/trigger.js';
import type { Tick } from './cron-ticks.js';
import { logicalDateForTick } from './logical-date.js';

export type TickOutcome =
  | { kind: 'fired'; runId: string; attempt: string; created: boolean }
  | { kind: 'claimed-elsewhere'; runId: string }
  | { kind: 'skipped'; runId: string; activeRun: string };

export interface TickDeps {
  readonly redis: Redis;
  readonly prefix: string;
  readonly runs: Queue;
  readonly registry: RunRegistry;
  readonly now: () => Date;
  /** This replica's name in tick claims (default: one per process). */
  readonly replica?: string;
}

const processReplica = newReplicaId();

const CLAIM_TTL_S = 14 * 86_400;

/** Names a scheduler replica in its tick claims. */
export function newReplicaId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function fireTick(deps: TickDeps, job: LoadedJob, tick: Tick, why: 'schedule' | 'catch-up'): Promise<TickOutcome> {
  const schedule = job.spec.schedule;
  if (!schedule) throw new Error(`job ${job.spec.name} has no schedule`);
  const date = logicalDateForTick(tick, schedule);
  const runId = runIdFor(job.spec.name, date);
  const claimKey = tickClaimKey(deps.prefix, job.spec.name, tick);
  // The claim names this replica and process: a claim that succeeded but whose reply was lost
  // (Redis restarting), retried, reads back as ours rather than as another replica's.
  const me = deps.replica ?? processReplica;
  const claim = await deps.redis.set(claimKey, me, 'EX', CLAIM_TTL_S, 'NX');
  if (claim !== 'OK' && (await deps.redis.get(claimKey)) !== me) return { kind: 'claimed-elsewhere', runId };
  await recordLastTick(deps, job.spec.name, tick.at);
  if (schedule.overlap === 'skip') {
    const active = (await deps.registry.active(job.spec.name)).filter((r) => r.runId !== runId);
    const first = active[0];
    if (first) {
      await deps.registry.create({
        runId,
        attempt: 'skipped',
        job: job.spec.name,
        logicalDate: date,
        status: 'skipped',
        triggeredAt: deps.now().toISOString(),
        trigger: why,
        reason: `tick ${tick.localDate} ${tick.localTime} skipped: run ${first.runId} (${first.attempt}) was still ${first.status} (overlap: skip)`,
      });
      return { kind: 'skipped', runId, activeRun: first.runId };
    }
  }
  const r = await triggerRun(deps.runs, deps.registry, job, date, { trigger: why, now: deps.now(), serial: schedule.overlap === 'queue' });
  return { kind: 'fired', runId: r.runId, attempt: r.attempt, created: r.created };
}

/** The Redis key a replica claims to fire a tick (it exists for 14 days once the tick was fired). */
export function tickClaimKey(prefix: string, job: string, tick: Tick): string {
  return `${prefix}:sched:tick:${job}:${tick.at.toISOString()}`;
}

/** Whether some replica fired the tick (within the claims' 14 days). */
export async function wasFired(deps: Pick<TickDeps, 'redis' | 'prefix'>, job: string, tick: Tick): Promise<boolean> {
  return (await deps.redis.exists(tickClaimKey(deps.prefix, job, tick))) === 1;
}

/** The last tick handled for a job (by any replica), for catch-up after a restart. */
export async function lastTick(deps: Pick<TickDeps, 'redis' | 'prefix'>, job: string): Promise<Date | undefined> {
  const v = await deps.redis.get(`${deps.prefix}:sched:last:${job}`);
  return v ? new Date(v) : undefined;
}

async function recordLastTick(deps: Pick<TickDeps, 'redis' | 'prefix'>, job: string, at: Date): Promise<void> {
  // Only move forward: a replica handling an older tick late must not rewind it.
  await deps.redis.eval(
    "local cur = redis.call('GET', KEYS[1]); if (not cur) or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) end; return 1",
    1,
    `${deps.prefix}:sched:last:${job}`,
    at.toISOString(),
  );
}

export async function initLastTick(deps: Pick<TickDeps, 'redis' | 'prefix'>, job: string, at: Date): Promise<void> {
  await deps.redis.set(`${deps.prefix}:sched:last:${job}`, at.toISOString(), 'NX');
}
