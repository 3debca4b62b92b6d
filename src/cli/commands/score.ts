/**
 * `nightshift score <job>`: run a job in this process, no Redis needed. This module only parses
 * the arguments and starts the shard threads of --threads; score-in-process.ts (loaded after
 * that) does the rest.
 */
import { parseArgs } from 'node:util';
import { startShardThreads } from '../../run/shard-threads.js';
import { UsageError } from '../exit-codes.js';

export const scoreHelp = `nightshift score <job> [--date YYYY-MM-DD] [--input URI] [--output URI]
  Scores a job in this process (no Redis). <job> is a spec file or a job name in jobs/.
  --date     logical date (default: by the job's schedule.logicalDate rule, else yesterday)
  --input    override input.uri        --output   override output.uri
  --model    score with this registered version or alias (name@version) instead of the job's model
  --threads  shards scored at once, each on its own thread (default 1; try the number of cores)`;

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { date: { type: 'string' }, input: { type: 'string' }, output: { type: 'string' }, threads: { type: 'string' }, model: { type: 'string' } },
  });
  const [jobArg] = positionals;
  if (!jobArg || positionals.length > 1) throw new UsageError(`expected one job\n${scoreHelp}`);
  const threads = parseThreads(values.threads);
  // Shard threads start before this thread imports the pipeline (~0.2 CPU-s), so that their own
  // start-up (node, their modules, onnxruntime) overlaps it instead of following it.
  const startedThreads = threads > 1 ? startShardThreads(threads - 1) : undefined;
  try {
    const { scoreInProcess } = await import('./score-in-process.js');
    return await scoreInProcess({ jobArg, values, threads, startedThreads });
  } finally {
    // scoreRun closes them; this covers a failure before it ran (a bad job file, a usage error).
    await startedThreads?.close();
  }
}

function parseThreads(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--threads: expected a whole number from 1 to 64, found "${text}"`);
  return n;
}
