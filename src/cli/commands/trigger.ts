/** `nightshift trigger <job>`: start a run on the workers; optionally wait for it. */
import { parseArgs } from 'node:util';
import { describeTrigger, triggerRun } from '../../queue/trigger.js';
import { parseModelRef } from '../../spec/model-ref.js';
import type { RunRecord, RunRegistry } from '../../queue/run-registry.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg, resolveDate } from '../job-arg.js';
import { progressPrinter } from '../progress.js';
import { openQueueClient } from '../../queue/queue-client.js';

export const triggerHelp = `nightshift trigger <job> [--date YYYY-MM-DD] [--rerun] [--wait] [--model name@version]
  Enqueues a run of a job for workers. Triggering a run that exists is a no-op (the run id is
  job@date); --rerun starts a new attempt that replaces the published outputs when it succeeds.
  A rerun while an attempt of the run is active waits for that attempt to finish, then runs
  (never beside it); of several reruns waiting, only the newest runs (the others: superseded).
  --wait  show progress, then the result; exit 0 succeeded, 3 failed, 4 held for approval,
          130 cancelled (nightshift cancel).
  --model score with this registered version (or alias) instead of the job's model, for this run
          only (a rerun or backfill with an older version); checked when the run is planned.`;

export async function triggerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { date: { type: 'string' }, rerun: { type: 'boolean' }, wait: { type: 'boolean' }, model: { type: 'string' } },
  });
  const [jobArg] = positionals;
  if (!jobArg || positionals.length > 1) throw new UsageError(`expected one job\n${triggerHelp}`);
  const job = await loadJobArg(jobArg);
  const date = resolveDate(values.date, job.spec.schedule);
  if (values.model !== undefined) parseModelRef(values.model);
  const client = await openQueueClient();
  try {
    const res = await triggerRun(client.runs, client.registry, job, date, { rerun: values.rerun === true, ...(values.model ? { model: values.model } : {}) });
    process.stdout.write(`${describeTrigger(res)}\n`);
    if (!values.wait) return EXIT.ok;
    const final = await waitForRun(client.registry, res.runId, res.attempt);
    process.stdout.write(`${describeRun(final)}\n`);
    if (final.status === 'cancelled') return EXIT.cancelled;
    return final.status === 'succeeded' ? EXIT.ok : final.status === 'held' ? EXIT.held : EXIT.data;
  } finally {
    await client.close();
  }
}

export async function waitForRun(registry: RunRegistry, runId: string, attempt: string, pollMs = 500): Promise<RunRecord> {
  const progress = progressPrinter(`${runId} ${attempt}`);
  try {
    for (;;) {
      const rec = await registry.get(runId, attempt);
      // An attempt renumbered by the plan step (worker/renumber-attempt.ts) goes on as its successor.
      if (rec?.status === 'superseded' && rec.supersededBy) return waitForRun(registry, runId, rec.supersededBy, pollMs);
      if (
        rec &&
        (rec.status === 'succeeded' ||
          rec.status === 'failed' ||
          rec.status === 'skipped' ||
          rec.status === 'held' ||
          rec.status === 'superseded' ||
          rec.status === 'cancelled')
      )
        return rec;
      if (rec) progress.update(() => `${rec.status}: ${rec.shardsDone ?? 0}/${rec.shards ?? '?'} shards, ${(rec.rowsRead ?? 0).toLocaleString('en-US')} rows`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    progress.done();
  }
}

export function describeRun(r: RunRecord): string {
  const dur = r.finishedAt && r.startedAt ? `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)} s` : '';
  return [
    `${r.runId} ${r.attempt} ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
    `  shards ${r.shardsDone ?? 0}/${r.shards ?? '?'}, rows read ${r.rowsRead ?? 0}, scored ${r.rowsScored ?? '-'}, rejected ${r.rowsRejected ?? '-'}${dur ? `, ${dur}` : ''}`,
    ...(r.output ? [`  output ${r.output}`] : []),
    ...(r.challenger ? [`  challenger ${r.challenger}`] : []),
  ].join('\n');
}
