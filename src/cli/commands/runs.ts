/** `nightshift runs [job]` and `nightshift run <runId>`: what ran, what is running. */
import { parseArgs } from 'node:util';
import { parseRunId } from '../../run/run-identity.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { openQueueClient } from '../../queue/queue-client.js';
import { describeRun } from './trigger.js';

export const runsHelp = `nightshift runs [job] [--limit N] [--json]
  Recent runs, newest first: id, attempt, status, shards, rows, rejected, duration.`;
export const runHelp = `nightshift run <runId> [--attempt aN] [--json]
  One run's detail (runId is job@YYYY-MM-DD).`;

export async function runsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { limit: { type: 'string' }, json: { type: 'boolean' } } });
  const client = await openQueueClient();
  try {
    const list = await client.registry.list(Number(values.limit ?? 20), positionals[0]);
    if (values.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    else {
      process.stdout.write(
        `${'RUN'.padEnd(36)} ${'ATTEMPT'.padEnd(7)} ${'STATUS'.padEnd(10)} ${'SHARDS'.padEnd(7)} ${'ROWS'.padStart(10)} ${'REJECTED'.padStart(8)}  DURATION\n`,
      );
      for (const r of list) {
        const dur = r.finishedAt && r.startedAt ? `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)}s` : '';
        process.stdout.write(
          `${r.runId.padEnd(36)} ${r.attempt.padEnd(7)} ${r.status.padEnd(10)} ${`${r.shardsDone ?? 0}/${r.shards ?? '?'}`.padEnd(7)} ${String(r.rowsRead ?? 0).padStart(10)} ${String(r.rowsRejected ?? '-').padStart(8)}  ${dur}\n`,
        );
      }
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { attempt: { type: 'string' }, json: { type: 'boolean' } } });
  const [runId] = positionals;
  if (!runId || !parseRunId(runId)) throw new UsageError(`expected a run id like job@2026-11-28\n${runHelp}`);
  const client = await openQueueClient();
  try {
    const rec = await client.registry.get(runId, values.attempt);
    if (!rec) {
      process.stderr.write(`no run ${runId}${values.attempt ? ` attempt ${values.attempt}` : ''}\n`);
      return EXIT.spec;
    }
    process.stdout.write(values.json ? `${JSON.stringify(rec, null, 2)}\n` : `${describeRun(rec)}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
