/** `nightshift approve|reject <job@date>`: decide on a run held for approval (monitor.onDrift: hold). */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { approveRun, rejectRun, type Decision } from '../../run/held-runs.js';
import type { RunReport } from '../../report/run-report.js';
import { parseRunId } from '../../run/run-identity.js';
import { recordDecision } from '../../queue/run-registry.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg } from '../job-arg.js';

export const approveHelp = `nightshift approve <job@date> [--reason TEXT] [--by NAME]
  Publishes a held run exactly as a successful run publishes (_SUCCESS, _latest.json), and records
  who approved it, when and why in its report. --by defaults to the OS user name.
  With NIGHTSHIFT_REDIS_URL set, the run's status in \`nightshift runs\` is updated too.`;

export const rejectHelp = `nightshift reject <job@date> [--reason TEXT] [--by NAME]
  Fails a held run and removes its parts; records who rejected it, when and why in its report.`;

export const approveCommand = (argv: string[]): Promise<number> => decide(argv, 'approve');
export const rejectCommand = (argv: string[]): Promise<number> => decide(argv, 'reject');

async function decide(argv: string[], what: 'approve' | 'reject'): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { reason: { type: 'string' }, by: { type: 'string' } } });
  const [arg] = positionals;
  const id = arg ? parseRunId(arg) : undefined;
  if (!id || positionals.length > 1) throw new UsageError(`expected one run id like job@2026-11-28\n${what === 'approve' ? approveHelp : rejectHelp}`);
  const job = await loadJobArg(id.job);
  const stores = new Stores();
  try {
    const d: Decision = { by: values.by ?? os.userInfo().username, reason: values.reason };
    const ref = { spec: job.spec, baseDir: job.baseDir, stores, logicalDate: id.logicalDate };
    const report = what === 'approve' ? await approveRun(ref, d) : await rejectRun(ref, d);
    await recordInRegistry(report);
    process.stdout.write(
      `run ${report.runId} (attempt ${report.attempt}) ${what === 'approve' ? 'approved and published' : 'rejected: its parts are removed'} by ${d.by}\n`,
    );
    return EXIT.ok;
  } finally {
    stores.close();
  }
}

/** The Redis run record follows the store, when this CLI is pointed at Redis. */
async function recordInRegistry(report: RunReport): Promise<void> {
  if (!process.env.NIGHTSHIFT_REDIS_URL) return;
  const { openQueueClient } = await import('../../queue/queue-client.js');
  try {
    const client = await openQueueClient();
    try {
      await recordDecision(client.registry, report);
    } finally {
      await client.close();
    }
  } catch (err) {
    process.stderr.write(`nightshift: the decision is published, but the run record in Redis was not updated: ${(err as Error).message}\n`);
  }
}
