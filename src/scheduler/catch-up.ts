/** Which missed ticks a scheduler fires when it starts, per the job's catch-up policy. */
import type { ScheduleSpec } from '../spec/job-spec.js';
import { ticksBetween, type Tick } from './cron-ticks.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function windowMs(text: string): number {
  const m = /^(\d+)([mhd])$/.exec(text);
  if (!m) throw new Error(`bad duration "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Ticks missed between the last handled tick and now, bounded by catchupWindow. */
export function missedTicks(schedule: ScheduleSpec, last: Date | undefined, now: Date): Tick[] {
  if (!last || schedule.catchup === 'none') return [];
  const from = new Date(Math.max(last.getTime(), now.getTime() - windowMs(schedule.catchupWindow)));
  const missed = ticksBetween(schedule.cron, schedule.timezone, from, now);
  if (schedule.catchup === 'latest') return missed.slice(-1);
  return missed;
}
