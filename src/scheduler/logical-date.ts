/** Which logical date a schedule tick scores. */
import { addDays } from '../run/run-identity.js';
import type { ScheduleSpec } from '../spec/job-spec.js';
import type { Tick } from './cron-ticks.js';

export function logicalDateForTick(tick: Tick, schedule: Pick<ScheduleSpec, 'logicalDate'>): string {
  return schedule.logicalDate === 'previous-day' ? addDays(tick.localDate, -1) : tick.localDate;
}
