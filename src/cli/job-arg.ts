/**
 * Job and date arguments of the CLI: a job spec from a path to a YAML file or a job name in the
 * jobs folder, and the logical date to run (kept apart from the commands, so that light ones
 * such as trigger do not load what score needs).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultLogicalDate, logicalDateSchema } from '../run/run-identity.js';
import { loadJobFile, loadJobsDir, type LoadedJob } from '../spec/load-spec.js';
import { UsageError } from './exit-codes.js';

export function jobsDir(): string {
  return path.resolve(process.env.NIGHTSHIFT_JOBS_DIR ?? 'jobs');
}

export async function loadJobArg(arg: string): Promise<LoadedJob> {
  if (/\.ya?ml$/.test(arg) || arg.includes('/')) return loadJobFile(arg);
  for (const ext of ['yaml', 'yml']) {
    const file = path.join(jobsDir(), `${arg}.${ext}`);
    if (existsSync(file)) return loadJobFile(file);
  }
  // The file name need not match the job name: look inside.
  const { jobs } = await loadJobsDir(jobsDir());
  const found = jobs.find((j) => j.spec.name === arg);
  if (!found) throw new UsageError(`no job named "${arg}" in ${jobsDir()} (pass a path to a .yaml file, or set NIGHTSHIFT_JOBS_DIR)`);
  return found;
}

/** --date, validated; or the job's rule for which date a run scores by default. */
export function resolveDate(date: string | undefined, schedule: { timezone: string; logicalDate: 'previous-day' | 'fire-date' } | undefined): string {
  const d = date ?? defaultLogicalDate(new Date(), schedule?.timezone ?? 'UTC', schedule?.logicalDate ?? 'previous-day');
  const checked = logicalDateSchema.safeParse(d);
  if (!checked.success) throw new UsageError(`--date "${d}": ${checked.error.issues[0]?.message ?? 'invalid'}`);
  return d;
}
