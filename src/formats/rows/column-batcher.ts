/**
 * What every batch builder shares, whatever records it reads (csv-parse fields on the general
 * CSV path, scanner offsets on the fast one): the column plan of the header, the batch being
 * filled and when it is full. Each builder adds its own record → row rules (add, take); the
 * event loop around them is BatchQueue (batch-queue.ts).
 */
import type { ColumnarBatch, RejectedRow } from '../../core/types.js';
import type { ReaderOptions } from '../../spec/component-options.js';
import type { RowBatcher } from './batch-queue.js';
import { allocateBatch, planColumns, type ColumnPlan } from './column-plan.js';

export abstract class ColumnBatcher<R> implements RowBatcher<R> {
  protected readonly plan: ColumnPlan;
  protected readonly fieldCount: number;
  protected readonly idIndexes: readonly number[];
  protected readonly passIndexes: readonly number[];
  protected readonly batchRows: number;
  protected batch: ColumnarBatch;

  /** Refuses a header without a column the job uses (planColumns' messages name object and line). */
  constructor(
    header: readonly string[],
    protected readonly options: ReaderOptions,
    object: string,
    headerLine: number,
  ) {
    this.plan = planColumns(header, options, object, headerLine);
    this.fieldCount = this.plan.fieldCount;
    this.idIndexes = this.plan.idIndexes;
    this.passIndexes = this.plan.passIndexes;
    this.batchRows = options.limits.batchRows;
    this.batch = allocateBatch(this.plan, this.batchRows);
  }

  get rows(): number {
    return this.batch.rows;
  }

  get full(): boolean {
    return this.batch.rows >= this.batchRows;
  }

  /** Adds a record; returns why it was rejected, or undefined when accepted. */
  abstract add(rec: R): RejectedRow | undefined;

  /** Hands over the current batch and starts a new one (the old one may still be in flight). */
  abstract take(): ColumnarBatch;
}
