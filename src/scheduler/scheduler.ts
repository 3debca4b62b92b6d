/**
 * The scheduler: for every job with a schedule, sleep until its next tick and fire it. On start
 * it catches up ticks missed while no scheduler ran. Jobs can be replaced at any time (reload):
 * each job's loop is restarted with the new spec; an invalid file keeps the last good version.
 */
import type { LoadedJob } from '../spec/load-spec.js';
import { nextTicks } from './cron-ticks.js';
import { missedTicks } from './catch-up.js';
import type { Clock } from './clock.js';
import { fireTick, initLastTick, lastTick, type TickDeps, type TickOutcome } from './fire-tick.js';
import type { Tick } from './cron-ticks.js';

export interface SchedulerEvents {
  onTick?(job: string, tick: Tick, outcome: TickOutcome): void;
  onError?(job: string, err: unknown): void;
  log?(line: string): void;
}

interface Loop {
  readonly job: LoadedJob;
  readonly fingerprint: string;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export class Scheduler {
  private readonly loops = new Map<string, Loop>();
  private stopped = false;

  constructor(
    private readonly deps: TickDeps,
    private readonly clock: Clock,
    private readonly events: SchedulerEvents = {},
  ) {}

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
    const last = await lastTick(this.deps, name);
    if (!last) await initLastTick(this.deps, name, now);
    for (const tick of missedTicks(schedule, last, now)) await this.fire(job, tick, 'catch-up');
    let after = this.clock.now();
    while (!signal.aborted) {
      const [tick] = nextTicks(schedule.cron, schedule.timezone, after, 1);
      if (!tick) return;
      await this.clock.sleepUntil(tick.at, signal);
      await this.fire(job, tick, 'schedule');
      after = tick.at;
    }
  }

  private async fire(job: LoadedJob, tick: Tick, why: 'schedule' | 'catch-up'): Promise<void> {
    try {
      const outcome = await fireTick(this.deps, job, tick, why);
      this.events.onTick?.(job.spec.name, tick, outcome);
      this.events.log?.(`${job.spec.name}: ${why} tick ${tick.localDate} ${tick.localTime} (${job.spec.schedule?.timezone}) → ${describe(outcome)}`);
    } catch (err) {
      // One failed fire (Redis down) must not end the job's loop; the next tick tries again.
      this.events.onError?.(job.spec.name, err);
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
