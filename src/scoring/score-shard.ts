/**
 * Scores one shard: read → (gunzip) → parse → validate → batch → session.run → format → write.
 * Memory is bounded by one batch in each stage, whatever the size of the input.
 */
import type { Readable } from 'node:stream';
import { failpoint } from '../core/failpoints.js';
import type { ColumnarBatch, RejectReason, ShardResult, StageTimings } from '../core/types.js';
import { ObjectSink } from '../formats/parts/object-sink.js';
import { openInput } from '../formats/open-input.js';
import { ERRORS_HEADER, errorLine, type PartFormat } from '../formats/parts/part-formats.js';
import type { Scorer } from '../model/onnx-scorer.js';
import { addValue, newStats, type ScoreStatsState } from '../report/score-stats.js';
import { ProfileCollector, profileSignature } from '../monitor/run-profile.js';
import type { ModelMappingOptions, ShardOptions } from '../spec/component-options.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readBatches, type BatchEvent } from '../formats/read-batches.js';
import { readParquetBatchEvents } from '../formats/parquet/parquet-input.js';
import { ChallengerShard, type ChallengerShardContext } from './challenger-shard.js';
import { InputError } from '../core/errors.js';
import { RangeCensus } from '../formats/csv/range-census.js';

export interface ShardTask {
  /** Stable id within the run, e.g. "00003". */
  readonly shard: string;
  readonly input: { readonly store: ObjectStore; readonly key: string; readonly display: string; readonly size: number };
  /**
   * For a byte-range shard of a large object: the bytes to read (starting at a record
   * boundary), the header read by the plan, and the number of physical lines before the range.
   */
  readonly range?: {
    readonly start: number;
    readonly end: number;
    readonly header: readonly string[];
    readonly linesBefore: number;
    /** A range of a speculative split: count its lines and quotes (RangeCensus) for finalize. */
    readonly speculative?: true | undefined;
  };
  readonly output: { readonly store: ObjectStore; readonly partKey: string; readonly errorsKey: string };
}

export interface ShardContext {
  /** What the shard loop reads of the job (its reader, scorer mapping, part format, profile switch). */
  readonly spec: ShardOptions;
  readonly scorer: Scorer;
  readonly format: PartFormat;
  readonly signal?: AbortSignal;
  /** Called after each batch with the rows read so far in this shard. */
  readonly onProgress?: (rowsRead: number) => void;
  /**
   * Called just before the part is completed (made visible); throwing aborts it. The distributed
   * path checks here that this worker still owns the shard, so a worker that lost its lock (a
   * stalled event loop, a network partition) cannot overwrite the part another worker wrote.
   */
  readonly beforePublish?: () => Promise<void>;
  /** A challenger to score the same batches with and compare (model.challenger); it never fails the shard. */
  readonly challenger?: ChallengerShardContext | undefined;
}

export async function scoreShard(ctx: ShardContext, task: ShardTask): Promise<ShardResult> {
  const { spec, format } = ctx;
  const timings: StageTimings = { readParseMs: 0, inferenceMs: 0, writeMs: 0 };
  const sigOpt = ctx.signal ? { signal: ctx.signal } : {};
  const part = new ObjectSink(task.output.store, task.output.partKey, { gzip: spec.output.gzip, contentType: format.contentType, ...sigOpt });
  const encoder = format.newPart();
  let errors: ObjectSink | undefined;
  const counts = { read: 0, scored: 0, rejected: 0 };
  const byReason: Partial<Record<RejectReason, number>> = {};
  const stats: Record<string, ScoreStatsState> = {};
  const profile = spec.monitor.profile ? new ProfileCollector(profileSignature(spec)) : undefined;
  let bytes = () => 0;
  let challenger: ShardResult['challenger'];
  let input: Readable | undefined;
  const shadow = ctx.challenger ? new ChallengerShard(ctx.challenger, spec, task.output.store, task.input.display, ctx.signal) : undefined;
  const census = task.range?.speculative ? new RangeCensus(spec.input.csv.quote.charCodeAt(0)) : undefined;
  // A speculative range's input error may come from a wrong guess at its start: finalize judges it.
  let inputError: InputError | undefined;

  const timed = async (stage: 'inferenceMs' | 'writeMs', fn: () => Promise<void>): Promise<void> => {
    const t = performance.now();
    await fn();
    timings[stage] += performance.now() - t;
  };

  // Scoring runs one batch behind reading: batch N is scored (on an inference thread, where the
  // scorer has one) while the reader parses batch N+1, instead of the reader waiting for it.
  // One batch at a time is in flight, and batches are written strictly in input order.
  const flush = async (batch: ColumnarBatch): Promise<void> => {
    if (batch.rows === 0) return;
    // Before scoring: a thread scorer transfers the feature arrays away.
    profile?.addBatch(batch);
    const challenged = shadow?.begin(batch);
    let scores: Awaited<ReturnType<Scorer['score']>> = [];
    await timed('inferenceMs', async () => {
      scores = await ctx.scorer.score(batch);
      // Inference time covers waiting for the challenger of the same batch.
      await shadow?.compare(batch, scores, challenged);
    });
    // An abort destroys the sinks, and a write to a destroyed sink would wait for 'drain' forever.
    ctx.signal?.throwIfAborted();
    collectStats(spec, scores, stats);
    profile?.addScores(scores, batch.rows);
    await timed('writeMs', async () => {
      const bytes = encoder.rows(batch, scores);
      if (bytes.length > 0) await part.write(bytes);
    });
    counts.scored += batch.rows;
    ctx.onProgress?.(counts.read);
  };
  let inFlight: Promise<void> | undefined;
  /** Time the reader took to give the next event (parsing, and input I/O): the read/parse stage. */
  let readSince = 0;

  try {
    const header = encoder.header();
    if (header !== '') await part.write(header);
    const events = await openEvents();
    readSince = performance.now();
    for await (const ev of events) {
      timings.readParseMs += performance.now() - readSince;
      ctx.signal?.throwIfAborted();
      if (ev.kind === 'rejected') {
        counts.read++;
        counts.rejected++;
        byReason[ev.row.reason] = (byReason[ev.row.reason] ?? 0) + 1;
        profile?.addRejected(ev.row);
        errors ??= await openErrors(task);
        await errors.write(errorLine(task.input.display, ev.row));
      } else {
        counts.read += ev.batch.rows;
        await inFlight;
        inFlight = flush(ev.batch);
        // Awaited above or below; until then a failure must not count as unhandled.
        inFlight.catch(() => undefined);
        failpoint('shard-batch');
      }
      readSince = performance.now();
    }
    timings.readParseMs += performance.now() - readSince;
    await inFlight;
    await timed('writeMs', async () => {
      const end = encoder.end();
      if (end.length > 0) await part.write(end);
      challenger = await shadow?.finish();
      await ctx.beforePublish?.();
      await part.close();
      await errors?.close();
    });
  } catch (err) {
    // The batch in flight finishes (or fails) before its sinks are aborted under it.
    await inFlight?.catch(() => undefined);
    const reason = err instanceof Error ? err : new Error(String(err));
    await shadow?.abort(reason);
    await part.abort(reason);
    await errors?.abort(reason);
    if (!(census && err instanceof InputError) || ctx.signal?.aborted) throw err;
    inputError = err;
  } finally {
    // A shard that stops reading early (a file-level error, an abort) must still release the
    // input: an unread S3 body holds its connection out of the pool, a local file its handle.
    input?.destroy();
  }
  // The next range's start is judged by this range's quote count: count the bytes left unread.
  if (inputError && census && task.range) await countRest(census, task.input, task.range, ctx.signal);
  return {
    shard: task.shard,
    object: task.input.display,
    bytes: bytes(),
    rowsRead: counts.read,
    rowsScored: counts.scored,
    rowsRejected: counts.rejected,
    rejectedByReason: byReason,
    partKey: inputError ? undefined : task.output.partKey,
    errorsKey: errors && !inputError ? task.output.errorsKey : undefined,
    partBytes: part.bytesOut,
    errorsBytes: errors?.bytesOut,
    timings,
    scoreStats: stats,
    profile: profile?.toJson(),
    ...(challenger ? { challenger } : {}),
    ...(census && task.range
      ? {
          census: {
            start: task.range.start,
            end: task.range.end,
            linesBefore: task.range.linesBefore,
            header: task.range.header,
            lines: census.totalLines(),
            oddQuotes: census.oddQuotes,
            ...(inputError ? { inputError: { location: inputError.location, reason: inputError.reason } } : {}),
          },
        }
      : {}),
  };

  /** The shard's rows as batch events, by input format. */
  async function openEvents(): Promise<AsyncGenerator<BatchEvent>> {
    const range = task.range;
    // Parquet is read by ranges (footer, column chunks), not as a stream.
    if (spec.input.format === 'parquet') {
      // For Parquet, range holds row groups [start, end) and the rows before them (plan-units.ts).
      const groups = range ? { start: range.start, end: range.end, rowsBefore: range.linesBefore } : undefined;
      const read = readParquetBatchEvents(task.input, spec, groups, ctx.signal);
      bytes = () => read.bytesRead();
      return read.events;
    }
    const opened = await openInput(task.input.store, task.input.key, task.input.display, { ...sigOpt, ...(range ? { range } : {}) });
    bytes = opened.bytesRead;
    input = opened.stream;
    return readBatches(
      census ? census.through(opened.stream) : opened.stream,
      task.input.display,
      spec,
      range ? { header: range.header, linesBefore: range.linesBefore } : {},
    );
  }

  async function openErrors(t: ShardTask): Promise<ObjectSink> {
    const sink = new ObjectSink(t.output.store, t.output.errorsKey, { gzip: false, contentType: 'text/csv', ...sigOpt });
    await sink.write(ERRORS_HEADER);
    return sink;
  }
}

/** Counts the rest of a range after its reader stopped early (a speculative range's input error). */
async function countRest(census: RangeCensus, input: ShardTask['input'], range: { start: number; end: number }, signal?: AbortSignal): Promise<void> {
  const start = range.start + census.bytes;
  if (start > range.end) return;
  const rest = await input.store.read(input.key, { range: { start, end: range.end }, ...(signal ? { signal } : {}) });
  for await (const chunk of rest as AsyncIterable<Buffer>) census.count(chunk);
}

function collectStats(spec: ModelMappingOptions, scores: Awaited<ReturnType<Scorer['score']>>, stats: Record<string, ScoreStatsState>): void {
  spec.model.outputs.forEach((o, i) => {
    const s = scores[i];
    if (!s || Array.isArray(s.values)) return;
    const v = s.values;
    o.columns.forEach((col, j) => {
      const st = (stats[col] ??= newStats());
      for (let k = j; k < v.length; k += s.width) addValue(st, Number(v[k]));
    });
  });
}
