/** `nightshift scheduler`, `nightshift schedule`, `nightshift backfill`. */
import { parseArgs } from 'node:util';
import { addDays, logicalDateSchema } from '../../run/run-identity.js';
import { describeTrigger, triggerRun } from '../../queue/trigger.js';
import { nextTicks } from '../../scheduler/cron-ticks.js';
import { systemClock } from '../../scheduler/clock.js';
import { JobSource } from '../../scheduler/job-source.js';
import { lastTick } from '../../scheduler/fire-tick.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import { loadJobsDir } from '../../spec/load-spec.js';
import { errorMessage } from '../../core/errors.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobsDir, loadJobArg } from '../job-arg.js';
import { openQueueClient } from '../../queue/queue-client.js';
import { startService } from '../service-start.js';
import { rootLogger } from '../../core/logger.js';
import { logicalDateForTick } from '../../scheduler/logical-date.js';

export const schedulerHelp = `nightshift scheduler
  Fires every job's schedule.cron in its schedule.timezone and enqueues the run for its logical
  date. Safe to run as several replicas. Reloads jobs/ on change or SIGHUP; stops on SIGTERM.`;
export const scheduleHelp = `nightshift schedule [--count N]
  Lists each scheduled job's next fire times (local and UTC), logical dates and last tick.`;
export const backfillHelp = `nightshift backfill <job> --from YYYY-MM-DD --to YYYY-MM-DD [--rerun]
  Enqueues one run per logical date in the range (inclusive). Backfill runs of a job run one
  after another, oldest first.`;

export async function schedulerCommand(): Promise<number> {
  const log = rootLogger().child({ component: 'scheduler' });
  const service = await startService(log);
  if (!service) return EXIT.ok; // stopped while waiting for Redis
  const { client } = service;
  const scheduler = new Scheduler(
    { redis: client.redis, prefix: client.prefix, runs: client.runs, registry: client.registry, now: () => new Date() },
    systemClock,
    {
      log: (line) => log.info(line),
      onTick: (job, tick, outcome, why, text) =>
        log.info(
          {
            job,
            runId: outcome.runId,
            tick: tick.at.toISOString(),
            why,
            decision: outcome.kind,
            ...(outcome.kind === 'fired' ? { attempt: outcome.attempt, created: outcome.created } : {}),
            ...(outcome.kind === 'skipped' ? { activeRun: outcome.activeRun } : {}),
          },
          text,
        ),
      onRetry: (job, err, retryInMs) => log.warn({ job, err, retryInMs }, 'scheduler step failed; retrying'),
      onError: (job, err) => log.error({ job, err }, `${job}: ${errorMessage(err)}`),
      onLate: (job, late) => log.warn({ job, runId: late.runId, deadline: late.deadline, status: late.status }, `${job}: LATE ${late.reason}`),
    },
  );
  const source = new JobSource(jobsDir(), (err) => log.error({ err }, `refusing ${err.message}`));
  const reload = async (): Promise<void> => {
    const jobs = await source.load();
    await scheduler.setJobs(jobs);
    log.info(
      { jobs: scheduler.jobs().map((j) => j.spec.name) },
      `scheduling ${
        scheduler
          .jobs()
          .map((j) => j.spec.name)
          .join(', ') || 'no jobs'
      }`,
    );
  };
  await reload();
  source.watch(() => void reload().catch((err: unknown) => log.error({ err }, `reload failed: ${errorMessage(err)}`)));
  process.on('SIGHUP', () => void reload().catch((err: unknown) => log.error({ err }, `reload failed: ${errorMessage(err)}`)));
  await service.stopped();
  log.info('stopping');
  source.close();
  await scheduler.stop();
  await client.close();
  return EXIT.ok;
}

export async function scheduleCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { count: { type: 'string' } } });
  const count = Number(values.count ?? 3);
  const { jobs, errors } = await loadJobsDir(jobsDir());
  for (const e of errors) process.stderr.write(`FAIL ${e.message}\n`);
  const client = await openQueueClient().catch(() => undefined);
  try {
    const now = new Date();
    for (const job of jobs) {
      const s = job.spec.schedule;
      if (!s) {
        process.stdout.write(`${job.spec.name}: no schedule (manual only)\n`);
        continue;
      }
      const last = client ? await lastTick({ redis: client.redis, prefix: client.prefix }, job.spec.name) : undefined;
      const recent = client ? (await client.registry.list(1, job.spec.name))[0] : undefined;
      process.stdout.write(
        `${job.spec.name}: "${s.cron}" in ${s.timezone} (logical date: ${s.logicalDate}, catch-up: ${s.catchup}/${s.catchupWindow}, overlap: ${s.overlap})\n`,
      );
      for (const t of nextTicks(s.cron, s.timezone, now, count)) {
        process.stdout.write(`  next ${t.localDate} ${t.localTime} ${s.timezone} = ${t.at.toISOString()} → scores ${logicalDateForTick(t, s)}\n`);
      }
      process.stdout.write(
        `  last tick ${last?.toISOString() ?? 'never'}; last run ${recent ? `${recent.runId} ${recent.attempt} ${recent.status}` : 'none'}\n`,
      );
    }
  } finally {
    await client?.close();
  }
  return errors.length === 0 ? EXIT.ok : EXIT.spec;
}

export async function backfillCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, rerun: { type: 'boolean' } },
  });
  const [jobArg] = positionals;
  if (!jobArg || !values.from || !values.to) throw new UsageError(backfillHelp);
  for (const d of [values.from, values.to]) {
    const checked = logicalDateSchema.safeParse(d);
    if (!checked.success) throw new UsageError(`"${d}": ${checked.error.issues[0]?.message ?? 'not a date (YYYY-MM-DD)'}`);
  }
  if (values.from > values.to) throw new UsageError(`--from ${values.from} is after --to ${values.to}`);
  const job = await loadJobArg(jobArg);
  const client = await openQueueClient();
  try {
    let n = 0;
    for (let d = values.from; d <= values.to; d = addDays(d, 1)) {
      if (++n > 3660) throw new UsageError('a backfill is limited to 3660 dates');
      const r = await triggerRun(client.runs, client.registry, job, d, { rerun: values.rerun === true, trigger: 'backfill', serial: true });
      process.stdout.write(`${describeTrigger(r)}\n`);
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
