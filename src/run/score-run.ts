/**
 * The in-process executor (no Redis): plan, score every shard here or on shard threads, then
 * the shared finalize stage (finalize-attempt.ts) publishes with _SUCCESS only if the run
 * succeeded. The workers execute the same stages as BullMQ jobs (worker/).
 */
import { CancelledError, InputError } from '../core/errors.js';
import type { ShardResult } from '../core/types.js';
import { partFormat } from '../formats/parts/part-formats.js';
import { checkModelMapping } from '../model/check-mapping.js';
import { loadBaseline } from './baseline.js';
import { createSession, fetchModel } from '../model/load-model.js';
import { modelDisplayName, resolveModelSource } from '../registry/resolve-model.js';
import { OnnxScorer } from '../model/onnx-scorer.js';
import { modelFacts, type RunReport } from '../report/run-report.js';
import { scoreShard } from '../scoring/score-shard.js';
import type { LoadedJob } from '../spec/load-spec.js';
import type { TemplateValues } from '../spec/templates.js';
import type { StoreRef, Stores } from '../storage/stores.js';
import { attemptName } from './output-layout.js';
import { discardAttempt } from './discard-attempt.js';
import { nextAttemptFromStore, type PublishOutcome } from './publish.js';
import { finalizeAttempt } from './finalize-attempt.js';
import { resolveInputs } from './resolve-inputs.js';
import { runOnShardThreads, startShardThreads, type ShardThreads } from './shard-threads.js';
import { planShards, resolveRun, type PlannedShard, type ResolvedRun } from './run-plan.js';
import { openLocalChallenger, type LocalChallenger } from './challenger-model.js';
import { rescoreWith } from './rescore-range.js';
import { growHeapForStreaming } from '../core/heap-growth.js';

export interface ScoreRunOptions {
  readonly date: string;
  readonly inputUri?: string;
  readonly outputUri?: string;
  /** The run as the caller already resolved it (from date and the overrides above). */
  readonly run?: ResolvedRun;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { shardsDone: number; shards: number; rowsRead: number }) => void;
  /** A registered version to score with instead of the job's model (name@version or name@alias). */
  readonly model?: string;
  /** Shards scored at once: this thread and threads - 1 shard threads, each with its own session (default 1: this thread). */
  readonly threads?: number;
  /**
   * The threads - 1 shard threads, when the caller started them already (`nightshift score`
   * starts them before it imports the pipeline); this run closes them, as those it starts.
   */
  readonly startedThreads?: ShardThreads | undefined;
  /** Profile only (`nightshift profile`): no baseline is read or judged against. */
  readonly profileOnly?: boolean;
}

export interface ScoreRunResult {
  readonly report: RunReport;
  readonly outputUri: string;
  /** The shard-level input error that failed the run, if any. */
  readonly inputError: InputError | undefined;
  /** Whether _SUCCESS now names this attempt, or a newer attempt published first. */
  readonly publication: PublishOutcome;
}

export async function scoreRun(job: LoadedJob, stores: Stores, opts: ScoreRunOptions): Promise<ScoreRunResult> {
  // Input chunks, tensors and part bytes churn through ArrayBuffers here as in a worker (and in the
  // shard threads: the flag is the process's).
  growHeapForStreaming();
  const { spec, baseDir } = job;
  const startedAt = new Date();
  const run = opts.run ?? resolveRun(job, opts.date, opts);
  const { runId } = run;
  const values: TemplateValues = { date: opts.date, runId, job: spec.name };

  // Shard threads start now, so their start-up overlaps this thread's model load and plan. This
  // thread scores shards too (it has its session loaded): N threads are it and N - 1 shard threads.
  const threads = opts.startedThreads ?? ((opts.threads ?? 1) > 1 ? startShardThreads((opts.threads ?? 1) - 1) : undefined);
  /** Closed in `finally`, however far the run got. */
  let opened: OnnxScorer | undefined;
  let challenger: LocalChallenger | undefined;
  try {
    // Everything that can be wrong with the spec or model is found before any output is touched.
    const source = await resolveModelSource(spec.model, baseDir, stores, values, opts.model);
    const model = await fetchModel(source, stores, undefined, opts.signal);
    const session = await createSession(model, spec.model.threads);
    const scorer = new OnnxScorer(session, spec);
    opened = scorer;
    checkModelMapping(spec, session, job.file, modelDisplayName(source));
    // `nightshift profile` profiles the job's model only: no challenger.
    challenger = opts.profileOnly ? undefined : await openLocalChallenger(job, stores, values, opts.signal);
    // The shard threads create their sessions while this thread reads the baseline and plans.
    threads?.init({
      spec,
      baseDir,
      model,
      s3: stores.explicitSettings,
      ...(challenger?.thread ? { challenger: challenger.thread } : {}),
    });
    if (!opts.profileOnly)
      await loadBaseline({
        spec,
        specFile: job.file,
        baseDir,
        stores,
        logicalDate: opts.date,
        model: source.version,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    const { inputUri, outputUri } = run;
    const inputs = await resolveInputs(inputUri, baseDir, stores, opts.signal);
    const out = stores.resolve(run.output);
    const attempt = attemptName(await nextAttemptFromStore(out));

    // Ctrl-C or a failure from here on: this attempt's files are removed and nothing is published
    // (score has no retry that could use its finished parts).
    let scored: { shards: ShardResult[]; inputError: InputError | undefined };
    let tasks: PlannedShard[] = [];
    try {
      tasks = await planShards(spec, inputs, out.key, attempt, opts.signal);
      scored = await scoreTasks(job, { outputUri, scorer, out, tasks, challenger, threads }, opts);
      opts.signal?.throwIfAborted();
    } catch (err) {
      if (!opts.signal?.aborted) {
        // The failure is what the caller must see, not a store error while tidying up after it.
        await discardAttempt(out, attempt).catch(() => undefined);
        throw err;
      }
      await discardAttempt(out, attempt);
      const why = opts.signal.reason instanceof Error ? opts.signal.reason.message : 'cancelled';
      throw new CancelledError(`${runId}: ${why}; nothing was published and this attempt's files were removed`, { cause: err });
    }
    const { shards, inputError } = scored;
    const facts = {
      runId,
      attempt,
      job: spec.name,
      logicalDate: opts.date,
      startedAt,
      finishedAt: new Date(),
      model: modelFacts(model),
      inputUri: inputs.length === 1 ? (inputs[0]?.display ?? inputUri) : inputUri,
      outputUri,
      maxErrorRate: spec.limits.maxErrorRate,
      challenger: challenger?.planned.facts,
    };
    // No Redis here (no fence): the store's conditional writes order this attempt against the workers'.
    const finalized = await finalizeAttempt({
      facts,
      shards,
      shardFailure: inputError?.message,
      monitor: { spec, specFile: job.file, baseDir, stores, out, ...(opts.profileOnly ? { judge: false } : {}) },
      latestRoot: run.latestRoot,
      rescore: rescoreWith({ spec, scorer: async () => scorer, out, attempt, input: (object) => inputOf(tasks, object), ...signalOpt(opts.signal) }),
      notify: !opts.profileOnly,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const { report, publication } = finalized;
    return { report, outputUri, inputError: inputError ?? finalized.inputError, publication };
  } finally {
    await threads?.close();
    await challenger?.close();
    await opened?.close();
  }
}

/** The input object a shard result names. */
function inputOf(tasks: readonly PlannedShard[], object: string): PlannedShard['unit']['input'] {
  const task = tasks.find((t) => t.unit.input.display === object);
  if (!task) throw new Error(`internal error: no planned shard reads ${object}`);
  return task.unit.input;
}

function signalOpt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** Scores the planned shards, on this thread and on `opts.threads - 1` shard threads; stops at the first input error. */
async function scoreTasks(
  job: LoadedJob,
  run: {
    outputUri: string;
    scorer: OnnxScorer;
    out: StoreRef;
    tasks: readonly PlannedShard[];
    challenger: LocalChallenger | undefined;
    /** Started when opts.threads > 1. */
    threads: ShardThreads | undefined;
  },
  opts: ScoreRunOptions,
): Promise<{ shards: ShardResult[]; inputError: InputError | undefined }> {
  const { spec } = job;
  const { tasks, out } = run;
  const lanes = Math.max(1, Math.min(opts.threads ?? 1, tasks.length));
  const progress = (rowsRead: number, done: number): void => opts.onProgress?.({ shardsDone: done, shards: tasks.length, rowsRead });
  const format = partFormat(spec);
  /** Scores task i here, on this thread's session. */
  const scoreHere = (i: number, onRows: (rows: number) => void): Promise<ShardResult> => {
    const t = tasks[i] as PlannedShard;
    return scoreShard(
      { spec, scorer: run.scorer, format, ...signalOpt(opts.signal), onProgress: onRows, challenger: run.challenger?.shards?.forShard(t.partKey) },
      {
        shard: t.shard,
        input: t.unit.input,
        ...(t.unit.range ? { range: t.unit.range } : {}),
        output: { store: out.store, partKey: t.partKey, errorsKey: t.errorsKey },
      },
    );
  };
  // Shard threads that will not run (a single task) are released before this thread scores it.
  if (lanes === 1) await run.threads?.close();
  if (lanes > 1 && run.threads) {
    const r = await runOnShardThreads(
      run.threads,
      tasks.map((t) => ({
        shard: t.shard,
        inputUri: t.unit.input.display,
        size: t.unit.input.size,
        range: t.unit.range,
        bytes: t.unit.bytes,
        partKey: t.partKey,
        errorsKey: t.errorsKey,
        outputUri: run.outputUri,
      })),
      (rows, done) =>
        progress(
          rows.reduce((a, b) => a + b, 0),
          done,
        ),
      opts.signal,
      scoreHere,
    ).finally(() => run.threads?.close());
    return { shards: r.results, inputError: r.inputError };
  }
  const shards: ShardResult[] = [];
  let rowsBefore = 0;
  for (const i of tasks.keys()) {
    opts.signal?.throwIfAborted();
    try {
      const result = await scoreHere(i, (rows) => progress(rowsBefore + rows, i));
      shards.push(result);
      rowsBefore += result.rowsRead;
      progress(rowsBefore, i + 1);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return { shards, inputError: err };
    }
  }
  return { shards, inputError: undefined };
}
