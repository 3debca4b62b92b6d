/** `nightshift cancel <job> --date D`: stop a run attempt on the workers; nothing of it is published. */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { cancelRun } from '../../queue/cancel-run.js';
import { openQueueClient } from '../../queue/queue-client.js';
import { resolveRun } from '../../run/run-plan.js';
import { parseRunId, runIdFor } from '../../run/run-identity.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg, resolveDate } from '../job-arg.js';

export const cancelHelp = `nightshift cancel <job> --date YYYY-MM-DD [--attempt aN-xxxx] [--by NAME] [--reason TEXT]
nightshift cancel <job>@<date> [...]
  Cancels a run attempt that is queued, waiting, planning or running: its queued shards are
  removed, active shards stop within about a second, nothing of it is published, and its parts
  and errors files are removed. The run is freed at once: a rerun waiting for it starts.
  Default attempt: the one that holds the run, else the newest. --by defaults to $USER.
  Exit 0 cancelled; 2 when the attempt has ended or is publishing (finalizing), or no such run.`;

export async function cancelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { date: { type: 'string' }, attempt: { type: 'string' }, by: { type: 'string' }, reason: { type: 'string' } },
  });
  const [arg] = positionals;
  if (!arg || positionals.length > 1) throw new UsageError(`expected one job (or job@date)\n${cancelHelp}`);
  const id = parseRunId(arg);
  if (!id && values.date === undefined) throw new UsageError(`--date is required (the run to cancel is job@date)\n${cancelHelp}`);
  const job = await loadJobArg(id?.job ?? arg);
  const date = resolveDate(id?.logicalDate ?? values.date, job.spec.schedule);
  const by = values.by ?? process.env.USER ?? os.userInfo().username;
  const stores = new Stores();
  const client = await openQueueClient();
  try {
    const run = resolveRun(job, date);
    const output = stores.resolve(run.output);
    const res = await cancelRun({ runs: client.runs, registry: client.registry, output }, runIdFor(job.spec.name, date), {
      by,
      ...(values.attempt ? { attempt: values.attempt } : {}),
      ...(values.reason ? { reason: values.reason } : {}),
    });
    if (!res) {
      process.stderr.write(`nightshift cancel: no run ${runIdFor(job.spec.name, date)}${values.attempt ? ` attempt ${values.attempt}` : ''}\n`);
      return EXIT.spec;
    }
    process.stdout.write(`${res.message}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
    stores.close();
  }
}
