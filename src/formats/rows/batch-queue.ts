/**
 * The one event loop between a reader's records and the shard loop, for every reader and both
 * CSV batch builders: records go into the builder, accepted rows come out as full batches and
 * rejected rows one by one, in input order (see formats/read-batches.ts for the events).
 */
import type { ColumnarBatch, RejectedRow } from '../../core/types.js';

export type BatchEvent = { readonly kind: 'batch'; readonly batch: ColumnarBatch } | { readonly kind: 'rejected'; readonly row: RejectedRow };

/** What a batch builder does, whatever records it reads (csv-parse fields, scanner offsets, …). */
export interface RowBatcher<R> {
  readonly rows: number;
  readonly full: boolean;
  /** Adds one record; a row that is not scored comes back as a RejectedRow. */
  add(rec: R): RejectedRow | undefined;
  /** The batch filled so far; the builder starts a new one. */
  take(): ColumnarBatch;
}

export interface HeaderRecord {
  readonly names: readonly string[];
  readonly line: number;
}

/** Queues the events of records; without given columns the first record is the header. */
export class BatchQueue<R> {
  private builder: RowBatcher<R> | undefined;
  private queue: BatchEvent[] = [];

  constructor(
    /** Builds the batcher once the columns are known (`line`: the header's line, 0 when given). */
    private readonly newBuilder: (header: readonly string[], line: number) => RowBatcher<R>,
    private readonly headerOf: (rec: R) => HeaderRecord,
    header: readonly string[] | undefined,
  ) {
    if (header) this.builder = newBuilder(header, 0);
  }

  record(rec: R): void {
    if (!this.builder) {
      const h = this.headerOf(rec);
      this.builder = this.newBuilder(h.names, h.line);
      return;
    }
    const rejected = this.builder.add(rec);
    if (rejected) this.queue.push({ kind: 'rejected', row: rejected });
    else if (this.builder.full) this.queue.push({ kind: 'batch', batch: this.builder.take() });
  }

  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** Hands out the queued events. */
  *drain(): Generator<BatchEvent> {
    const events = this.queue;
    this.queue = [];
    yield* events;
  }

  /** Runs one reader step, then hands out its events, then rethrows what the step threw. */
  *settle(step: () => void): Generator<BatchEvent> {
    let failure: { error: unknown } | undefined;
    try {
      step();
    } catch (error) {
      failure = { error };
    }
    yield* this.drain();
    if (failure) throw failure.error;
  }

  /** The last, partly filled batch at the end of the input, if any. */
  lastBatch(): BatchEvent | undefined {
    return this.builder && this.builder.rows > 0 ? { kind: 'batch', batch: this.builder.take() } : undefined;
  }
}
