/**
 * How long Redis keeps what runs leave behind. Every BullMQ job carries its run's spec text, so
 * under `noeviction` finished jobs would fill Redis: completed and failed jobs are removed by
 * BullMQ itself past an age or a count (removeOnComplete/removeOnFail on every job we add), and
 * a run record (hash, index entry, attempt counter) expires a number of days after it finished.
 */
import { z } from 'zod';
import type { KeepJobs } from 'bullmq';
import { ConfigError } from '../core/errors.js';

export interface Retention {
  /** Completed BullMQ jobs: removed when older than this many seconds or past this count (per queue). */
  readonly completed: { readonly ageS: number; readonly count: number };
  /** Failed BullMQ jobs (kept longer: they are what someone investigates). */
  readonly failed: { readonly ageS: number; readonly count: number };
  /** Run records, after the run finished. */
  readonly runRecordMs: number;
  /** Entries of each queue's event stream (what Bull Board and QueueEvents read), trimmed approximately. */
  readonly eventsMaxLen: number;
}

export const DEFAULT_RETENTION: Retention = {
  completed: { ageS: 24 * 3600, count: 1000 },
  failed: { ageS: 7 * 24 * 3600, count: 5000 },
  runRecordMs: 30 * 86_400_000,
  eventsMaxLen: 10_000,
};

const positive = z.coerce.number().positive();
const envSchema = z.object({
  NIGHTSHIFT_KEEP_COMPLETED_HOURS: positive.optional(),
  NIGHTSHIFT_KEEP_COMPLETED_COUNT: z.coerce.number().int().min(0).optional(),
  NIGHTSHIFT_KEEP_FAILED_HOURS: positive.optional(),
  NIGHTSHIFT_KEEP_FAILED_COUNT: z.coerce.number().int().min(0).optional(),
  NIGHTSHIFT_KEEP_RUNS_DAYS: positive.optional(),
  NIGHTSHIFT_KEEP_EVENTS: z.coerce.number().int().min(100).optional(),
});

export function retentionFromEnv(env: NodeJS.ProcessEnv = process.env): Retention {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `invalid retention settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}, found "${env[String(i.path[0])]}"`).join('; ')}`,
    );
  const e = parsed.data;
  const d = DEFAULT_RETENTION;
  return {
    completed: { ageS: hoursToS(e.NIGHTSHIFT_KEEP_COMPLETED_HOURS) ?? d.completed.ageS, count: e.NIGHTSHIFT_KEEP_COMPLETED_COUNT ?? d.completed.count },
    failed: { ageS: hoursToS(e.NIGHTSHIFT_KEEP_FAILED_HOURS) ?? d.failed.ageS, count: e.NIGHTSHIFT_KEEP_FAILED_COUNT ?? d.failed.count },
    runRecordMs: e.NIGHTSHIFT_KEEP_RUNS_DAYS === undefined ? d.runRecordMs : Math.round(e.NIGHTSHIFT_KEEP_RUNS_DAYS * 86_400_000),
    eventsMaxLen: e.NIGHTSHIFT_KEEP_EVENTS ?? d.eventsMaxLen,
  };
}

function hoursToS(h: number | undefined): number | undefined {
  return h === undefined ? undefined : Math.max(1, Math.round(h * 3600));
}

/** The removeOnComplete/removeOnFail options of every job nightshift adds. */
export function jobRetentionOptions(r: Retention): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  return { removeOnComplete: { age: r.completed.ageS, count: r.completed.count }, removeOnFail: { age: r.failed.ageS, count: r.failed.count } };
}

/** Queue options that bound a queue's event stream (BullMQ stores them in the queue's meta key). */
export function queueRetentionOptions(r: Retention): { streams: { events: { maxLen: number } } } {
  return { streams: { events: { maxLen: r.eventsMaxLen } } };
}

/** The part of a BullMQ Queue a sweep needs. */
interface Cleanable {
  clean(graceMs: number, limit: number, type: 'completed' | 'failed'): Promise<string[]>;
}

/**
 * Removes finished jobs past their age from a queue: jobs added before retention was configured
 * (or by older versions) carry no removeOn* options and would otherwise stay forever. Workers run
 * it at start and hourly; it is bounded per call so it never blocks Redis for long.
 */
export async function sweepQueue(queue: Cleanable, r: Retention, limit = 1000): Promise<number> {
  const completed = await queue.clean(r.completed.ageS * 1000, limit, 'completed');
  const failed = await queue.clean(r.failed.ageS * 1000, limit, 'failed');
  return completed.length + failed.length;
}
