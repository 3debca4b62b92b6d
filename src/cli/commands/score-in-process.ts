/**
 * The body of `nightshift score` (score.ts parses the arguments and starts the shard threads
 * first): load the job, run it in this process, print the summary, map the outcome to an exit code.
 */
import { CancelledError, ErrorRateExceededError, SupersededError, UriError } from '../../core/errors.js';
import type { RunReport } from '../../report/run-report.js';
import { resolveRun, type ResolvedRun } from '../../run/run-plan.js';
import { scoreRun } from '../../run/score-run.js';
import { staticPrefix, type LoadedJob } from '../../spec/load-spec.js';
import { formatLocation, isWithin, parseLocation } from '../../spec/uri.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import type { ShardThreads } from '../../run/shard-threads.js';
import { monitoringLines } from '../../run/monitor-run.js';
import { challengerLines } from '../../report/challenger-report.js';
import { loadJobArg, resolveDate } from '../job-arg.js';
import { progressPrinter } from '../progress.js';

/** What score.ts parsed, and the shard threads it started (threads - 1 of them; scoreRun closes them). */
export interface ScoreArgs {
  readonly jobArg: string;
  readonly values: {
    readonly date?: string | undefined;
    readonly input?: string | undefined;
    readonly output?: string | undefined;
    readonly model?: string | undefined;
  };
  readonly threads: number;
  readonly startedThreads: ShardThreads | undefined;
}

export async function scoreInProcess(args: ScoreArgs): Promise<number> {
  const { jobArg, values, threads, startedThreads } = args;
  const job = await loadJobArg(jobArg);
  const date = resolveDate(values.date, job.spec.schedule);
  const run = resolveScoreRun(job, date, values.input, values.output);
  const stores = new Stores();
  const progress = progressPrinter(`${job.spec.name}@${date}`);
  const interrupt = onInterrupt();
  try {
    const result = await scoreRun(job, stores, {
      date,
      run,
      signal: interrupt.signal,
      threads,
      ...(startedThreads ? { startedThreads } : {}),
      ...(values.model ? { model: values.model } : {}),
      onProgress: (p) => progress.update(() => `${p.rowsRead.toLocaleString('en-US')} rows, ${p.shardsDone}/${p.shards} shards`),
    });
    progress.done();
    process.stdout.write(summaryText(result.report, result.outputUri));
    if (result.publication.kind === 'superseded') {
      throw new SupersededError(
        `attempt ${result.report.attempt} was not published: attempt ${result.publication.by ?? '?'} of ${result.report.runId} published while it ran (its files were removed)`,
      );
    }
    if (result.report.status === 'succeeded') return EXIT.ok;
    if (result.report.status === 'held') return EXIT.held;
    if (result.inputError) throw result.inputError;
    throw new ErrorRateExceededError(result.report.reason ?? 'run failed');
  } catch (err) {
    // Interrupted before the run had output (loading the model, listing inputs): still a cancel.
    if (interrupt.signal.aborted && !(err instanceof CancelledError)) throw new CancelledError('interrupted before any output was written', { cause: err });
    throw err;
  } finally {
    interrupt.dispose();
    progress.done();
    stores.close();
  }
}

/**
 * Ctrl-C (SIGINT) or SIGTERM cancels the run: its shards stop, its files are removed, nothing is
 * published, and the command exits 130. A second signal exits at once.
 */
function onInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    process.stderr.write(`\nnightshift score: ${name}: cancelling (removing this attempt's files; a second ${name} exits at once)\n`);
    controller.abort(new CancelledError(`interrupted (${name})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * --input and --output bypass the spec's validation, so they get the same checks here, as usage
 * errors naming the flag, before a model is loaded or anything is written: no "." or ".."
 * segments or leading "/" in S3 keys, and an output prefix apart from the input prefix.
 */
function resolveScoreRun(job: LoadedJob, date: string, input: string | undefined, output: string | undefined): ResolvedRun {
  const flagged = <T>(flag: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof UriError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  };
  const run = flagged(output === undefined ? 'output.uri' : '--output', () => resolveRun(job, date, { inputUri: input, outputUri: output }));
  if (input === undefined && output === undefined) return run;
  const inLoc = flagged(input === undefined ? 'input.uri' : '--input', () => parseLocation(staticPrefix(run.inputUri), job.baseDir));
  if (isWithin(run.output, inLoc) || isWithin(inLoc, run.output)) {
    throw new UsageError(
      `--output "${run.outputUri}" must not be equal to, inside, or around the input "${formatLocation(inLoc)}" (outputs would be read as inputs)`,
    );
  }
  return run;
}

export function summaryText(r: RunReport, outputUri: string): string {
  const lines = [
    `run ${r.runId} ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
    `  rows: ${r.rows.read} read = ${r.rows.scored} scored + ${r.rows.rejected} rejected${r.rows.rejected ? ` ${JSON.stringify(r.rows.rejectedByReason)}` : ''}`,
    `  time: ${(r.durationMs / 1000).toFixed(2)} s, ${r.rowsPerSecond.toLocaleString('en-US')} rows/s (read+parse ${r.timings.readParseMs} ms, inference ${r.timings.inferenceMs} ms, write ${r.timings.writeMs} ms)`,
    ...monitoringLines(r),
    ...challengerLines(r.challenger),
    `  output: ${outputUri}`,
    ...r.output.parts.map((p) => `    ${p}`),
    ...r.output.errors.map((p) => `    ${p} (rejected rows)`),
    `    _report.json${r.status === 'succeeded' ? ', _SUCCESS' : r.status === 'held' ? ' (held: not published until approved)' : ' (no _SUCCESS: not published)'}`,
  ];
  return `${lines.join('\n')}\n`;
}
