/** Run ids and logical dates: a run is one job for one logical date, so its id is derived from both. */
import { z } from 'zod';

/**
 * The logical dates a run may have. Dates outside are typos or probes (9999-12-31, 0000-01-01),
 * never real data days; bounding them keeps run ids, output paths and backfill loops sane.
 */
export const MIN_LOGICAL_DATE = '1970-01-01';
export const MAX_LOGICAL_DATE = '2199-12-31';

/** The one check of a logical date, wherever one enters (CLI, HTTP, backfill). */
export const logicalDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'not a calendar date')
  // Plain string order is date order for YYYY-MM-DD.
  .refine((d) => d >= MIN_LOGICAL_DATE && d <= MAX_LOGICAL_DATE, `expected a date from ${MIN_LOGICAL_DATE} to ${MAX_LOGICAL_DATE}`);

/** "fraud-nightly@2026-11-28". BullMQ ids may not contain ":", so "@" separates. */
export function runIdFor(job: string, logicalDate: string): string {
  return `${job}@${logicalDate}`;
}

export function parseRunId(runId: string): { job: string; logicalDate: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-_]{0,62})@(\d{4}-\d{2}-\d{2})$/.exec(runId);
  return m ? { job: m[1] as string, logicalDate: m[2] as string } : undefined;
}

/** The calendar date of `at` in a time zone, as YYYY-MM-DD. */
export function dateInZone(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The logical date a manual run scores when none is given: same rule as the schedule's. */
export function defaultLogicalDate(now: Date, timeZone: string, rule: 'previous-day' | 'fire-date'): string {
  const today = dateInZone(now, timeZone);
  return rule === 'previous-day' ? addDays(today, -1) : today;
}
