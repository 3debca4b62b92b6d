/**
 * The challenger's side of a shard (champion/challenger shadow scoring): it scores the very
 * batches the champion scores (parsed once), compares the two per score column, and writes its
 * own part under `_challenger/`. Nothing here may fail the shard: an error of the challenger
 * (it cannot load, session.run throws, its part cannot be written) stops the challenger for the
 * rest of the shard and is reported as its status; the champion's part is never touched.
 */
import { failpoint } from '../core/failpoints.js';
import type { ColumnarBatch, FeatureArray, ScoreColumns, ShardChallenger } from '../core/types.js';
import { ObjectSink } from '../formats/parts/object-sink.js';
import type { PartEncoder } from '../formats/parts/part-encoder.js';
import { partFormat } from '../formats/parts/part-formats.js';
import type { Scorer } from '../model/onnx-scorer.js';
import { ColumnComparison, comparedColumns, type BatchSource } from '../report/challenger-comparison.js';
import type { ShardOptions } from '../spec/component-options.js';
import { challengerJobSpec } from '../spec/challenger-spec.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface ChallengerShardContext {
  /** The challenger's scorer; a rejected promise (it failed to load) is reported, not thrown. */
  readonly scorer: Promise<Scorer>;
  /** Where its part goes (in the run's output store); undefined when model.challenger.parts is false. */
  readonly partKey?: string | undefined;
  /** Names the challenger in a failure reason, e.g. "fraud@4 (fraud@challenger)". */
  readonly name: string;
}

/** A challenger batch under way: its scores, or undefined once the challenger has failed. */
type Pending = Promise<ScoreColumns[] | undefined>;

export class ChallengerShard {
  private failure: string | undefined;
  private rows = 0;
  private inferenceMs = 0;
  private readonly spec: ShardOptions;
  private readonly columns: ColumnComparison[];
  private readonly part: ObjectSink | undefined;
  private readonly encoder: PartEncoder | undefined;
  private readonly source: BatchSource;
  private started = false;

  constructor(
    private readonly ctx: ChallengerShardContext,
    champion: ShardOptions,
    store: ObjectStore,
    object: string,
    signal?: AbortSignal,
  ) {
    const spec = challengerJobSpec(champion);
    if (!spec) throw new Error('ChallengerShard needs a job with model.challenger');
    this.spec = spec;
    const c = champion.model.challenger;
    this.columns = comparedColumns(champion.model, this.spec.model, c?.threshold).map((col) => new ColumnComparison(col));
    this.source = { object, idColumns: champion.input.id };
    if (ctx.partKey !== undefined) {
      const format = partFormat(this.spec);
      this.encoder = format.newPart();
      this.part = new ObjectSink(store, ctx.partKey, { gzip: this.spec.output.gzip, contentType: format.contentType, ...(signal ? { signal } : {}) });
    }
    // A challenger that failed to load fails here, once, before any batch.
    ctx.scorer.catch((err: unknown) => this.fail(err));
  }

  /**
   * Starts scoring `batch` with the challenger. Called before the champion scores it: an
   * inference thread takes (transfers) a batch's feature arrays, so the challenger gets copies.
   */
  begin(batch: ColumnarBatch): Pending | undefined {
    if (this.failure !== undefined || batch.rows === 0) return undefined;
    const copy: ColumnarBatch = { rows: batch.rows, features: copyFeatures(batch.features), ids: [], passthrough: [], lines: [] };
    const started = performance.now();
    return (async () => {
      try {
        const scorer = await this.ctx.scorer;
        if (!this.started) {
          this.started = true;
          const header = this.encoder?.header() ?? '';
          if (header !== '') await this.part?.write(header);
        }
        failpoint('challenger-batch');
        const scores = await scorer.score(copy);
        this.inferenceMs += performance.now() - started;
        return scores;
      } catch (err) {
        this.fail(err);
        return undefined;
      }
    })();
  }

  /** Compares the challenger's scores of `batch` with the champion's and writes its part rows. */
  async compare(batch: ColumnarBatch, champion: readonly ScoreColumns[], pending: Pending | undefined): Promise<void> {
    const scores = await pending;
    if (!scores || this.failure !== undefined) return;
    try {
      for (const c of this.columns) c.add(batch, champion, scores, this.source);
      this.rows += batch.rows;
      if (this.part && this.encoder) {
        const bytes = this.encoder.rows(withoutPassthrough(batch), scores);
        if (bytes.length > 0) await this.part.write(bytes);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Completes the challenger's part (if it still stands) and says what it did. */
  async finish(): Promise<ShardChallenger> {
    // A shard of no rows never started the challenger: make sure a load failure is seen.
    await this.ctx.scorer.catch(() => undefined);
    if (this.failure === undefined && this.part && this.encoder) {
      try {
        if (!this.started) {
          const header = this.encoder.header();
          if (header !== '') await this.part.write(header);
        }
        const end = this.encoder.end();
        if (end.length > 0) await this.part.write(end);
        await this.part.close();
      } catch (err) {
        this.fail(err);
      }
    }
    const base = { rows: this.rows, inferenceMs: Math.round(this.inferenceMs) };
    if (this.failure !== undefined) return { status: 'failed', reason: this.failure, ...base, columns: {} };
    const columns: Record<string, { kind: string }> = {};
    for (const c of this.columns) {
      const st = c.toJson();
      if (st) columns[c.spec.column] = st;
    }
    return { status: 'compared', ...base, ...(this.part ? { partKey: this.ctx.partKey, partBytes: this.part.bytesOut } : {}), columns };
  }

  /** The shard failed: the challenger's part must not stay either. */
  async abort(reason: Error): Promise<void> {
    await this.part?.abort(reason).catch(() => undefined);
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = `challenger ${this.ctx.name}: ${err instanceof Error ? err.message : String(err)}`;
    void this.part?.abort(err instanceof Error ? err : new Error(String(err))).catch(() => undefined);
  }
}

function copyFeatures(features: ReadonlyMap<string, FeatureArray>): Map<string, FeatureArray> {
  const out = new Map<string, FeatureArray>();
  for (const [name, data] of features) out.set(name, data.slice());
  return out;
}

/** The batch as the challenger's part writes it: ids, no passthrough (its scores come after). */
function withoutPassthrough(b: ColumnarBatch): ColumnarBatch {
  return {
    rows: b.rows,
    features: b.features,
    lines: b.lines,
    get ids(): string[][] {
      return b.ids;
    },
    passthrough: [],
    ...(b.textBytes ? { textBytes: { ids: b.textBytes.ids, passthrough: [] } } : {}),
  };
}
