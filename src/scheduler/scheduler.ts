/**
 * The scheduler: for every job with a schedule, sleep until its next tick and fire it. On start
 * it catches up ticks missed while no scheduler ran. Jobs can be replaced at any time (reload):
 * each job's loop is restarted with the new spec; an invalid file keeps the last good version.
 */
import type { LoadedJob } from '../spec/load-spec.js';
import { nextTicks } from './cron-ticks.js';
import { missedTicks } from './catch-up.js';
import type { Clock } from './clock.js';
import { fireTick, initLastTick, lastTick, newReplicaId, wasFired, type TickDeps, type TickOutcome } from './fire-tick.js';
import { ticksBetween, type Tick } from './cron-ticks.js';
import { windowMs } from './catch-up.js';
import { checkLate, lateDeadline } from './late-runs.js';
import type { LateRun } from '../run/notify-run.js';

export interface SchedulerEvents {
  /** A tick's decision; `text` says it in a sentence (logged instead when there is no onTick). */
  onTick?(job: string, tick: Tick, outcome: TickOutcome, why: 'schedule' | 'catch-up', text: string): void;
  onError?(job: string, err: unknown): void;
  /** A step failed (Redis down) and is tried again after `retryInMs`. */
  onRetry?(job: string, err: unknown, retryInMs: number): void;
  /** A tick's run had not succeeded by its deadline (schedule.lateAfter); this replica reported it. */
  onLate?(job: string, late: LateRun): void;
  log?(line: string): void;
}

/** How long a tick keeps being retried while Redis is away; older ones are left to catch-up. */
const RETRY_FOR_MS = 10 * 60_000;

interface Loop {
  readonly job: LoadedJob;
  readonly fingerprint: string;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export class Scheduler {
  private readonly loops = new Map<string, Loop>();
  private stopped = false;

  private readonly deps: TickDeps;

  constructor(
    deps: TickDeps,
    private readonly clock: Clock,
    private readonly events: SchedulerEvents = {},
  ) {
    this.deps = { ...deps, replica: deps.replica ?? newReplicaId() };
  }

  /** Starts, restarts or stops job loops so they match `jobs` (jobs without a schedule are ignored). */
  async setJobs(jobs: readonly LoadedJob[]): Promise<void> {
    const wanted = new Map(jobs.filter((j) => j.spec.schedule).map((j) => [j.spec.name, j]));
    for (const [name, loop] of this.loops) {
      const next = wanted.get(name);
      if (!next || fingerprint(next) !== loop.fingerprint) {
        loop.abort.abort();
        await loop.done;
        this.loops.delete(name);
        this.events.log?.(`${name}: ${next ? 'schedule changed, restarting' : 'removed'}`);
      }
    }
    for (const [name, job] of wanted) {
      if (this.stopped || this.loops.has(name)) continue;
      const abort = new AbortController();
      const done = this.run(job, abort.signal).catch((err: unknown) => {
        if (!abort.signal.aborted) this.events.onError?.(name, err);
      });
      this.loops.set(name, { job, fingerprint: fingerprint(job), abort, done });
    }
  }

  jobs(): LoadedJob[] {
    return [...this.loops.values()].map((l) => l.job);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const loops = [...this.loops.values()];
    for (const l of loops) l.abort.abort();
    await Promise.all(loops.map((l) => l.done));
    this.loops.clear();
  }

  private async run(job: LoadedJob, signal: AbortSignal): Promise<void> {
    const schedule = job.spec.schedule;
    if (!schedule) return;
    const name = job.spec.name;
    const now = this.clock.now();
    const last = await this.retrying(name, signal, async () => {
      const l = await lastTick(this.deps, name);
      if (!l) await initLastTick(this.deps, name, now);
      return l;
    });
    // Ticks fired before this start (by any replica) whose deadline may not have been checked;
    // a tick nobody fired (before the job existed, or skipped by catch-up) is not a late run.
    if (last && schedule.lateAfter) {
      const from = new Date(now.getTime() - windowMs(schedule.lateAfter) - windowMs(schedule.catchupWindow));
      for (const tick of ticksBetween(schedule.cron, schedule.timezone, from, last)) {
        if (await this.retrying(name, signal, () => wasFired(this.deps, name, tick))) this.watchLate(job, tick, signal);
      }
    }
    for (const tick of missedTicks(schedule, last, now)) await this.fire(job, tick, 'catch-up', signal);
    let after = this.clock.now();
    while (!signal.aborted) {
      const [tick] = nextTicks(schedule.cron, schedule.timezone, after, 1);
      if (!tick) return;
      await this.clock.sleepUntil(tick.at, signal);
      await this.fire(job, tick, 'schedule', signal);
      after = tick.at;
    }
  }

  private async fire(job: LoadedJob, tick: Tick, why: 'schedule' | 'catch-up', signal: AbortSignal): Promise<void> {
    try {
      // A tick that meets a Redis restart is fired when Redis is back (the claim keeps it once).
      const outcome = await this.retrying(job.spec.name, signal, () => fireTick(this.deps, job, tick, why), tick.at.getTime() + RETRY_FOR_MS);
      const text = `${job.spec.name}: ${why} tick ${tick.localDate} ${tick.localTime} (${job.spec.schedule?.timezone}) → ${describe(outcome)}`;
      if (this.events.onTick) this.events.onTick(job.spec.name, tick, outcome, why, text);
      else this.events.log?.(text);
      this.watchLate(job, tick, signal);
    } catch (err) {
      // One failed fire must not end the job's loop; the next tick tries again.
      if (!signal.aborted) this.events.onError?.(job.spec.name, err);
    }
  }

  /** At the tick's deadline (schedule.lateAfter), checks that its run succeeded; runs beside the job's loop. */
  private watchLate(job: LoadedJob, tick: Tick, signal: AbortSignal): void {
    const deadline = lateDeadline(job, tick);
    if (!deadline) return;
    const name = job.spec.name;
    const deps = { redis: this.deps.redis, prefix: this.deps.prefix, registry: this.deps.registry, replica: this.deps.replica ?? newReplicaId() };
    void (async () => {
      try {
        await this.clock.sleepUntil(deadline, signal);
        const late = await this.retrying(name, signal, () => checkLate(deps, job, tick), deadline.getTime() + RETRY_FOR_MS);
        if (late) {
          if (this.events.onLate) this.events.onLate(name, late);
          else this.events.log?.(`${name}: LATE ${late.reason}`);
        }
      } catch (err) {
        if (!signal.aborted) this.events.onError?.(name, err);
      }
    })();
  }

  /** `step`, tried again with backoff (0.5 s doubling to 5 s) until it succeeds, `until` passes or the loop stops. */
  private async retrying<T>(job: string, signal: AbortSignal, step: () => Promise<T>, until = Number.POSITIVE_INFINITY): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await step();
      } catch (err) {
        const wait = Math.min(500 * 2 ** Math.min(n, 4), 5_000);
        if (signal.aborted || this.clock.now().getTime() + wait > until) throw err;
        this.events.onRetry?.(job, err, wait);
        await this.clock.sleepUntil(new Date(this.clock.now().getTime() + wait), signal);
      }
    }
  }
}

function describe(o: TickOutcome): string {
  switch (o.kind) {
    case 'fired':
      return o.created ? `queued ${o.runId} ${o.attempt}` : `${o.runId} already exists (no-op)`;
    case 'claimed-elsewhere':
      return `fired by another scheduler replica (no-op)`;
    case 'skipped':
      return `skipped: ${o.activeRun} still active`;
  }
}

function fingerprint(job: LoadedJob): string {
  return JSON.stringify(job.spec);
}
