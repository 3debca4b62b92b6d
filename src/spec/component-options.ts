/**
 * What each component reads of a job. Components take one of these, not the whole JobSpec (as
 * BullMQ gives each class its own options interface): a component's needs show in its
 * signature, and a test or a second caller (the challenger) can build one without a full spec.
 * A JobSpec satisfies every one of them.
 */
import type { JobSpec } from './job-spec.js';

type Input = JobSpec['input'];
type Model = JobSpec['model'];

/** The columns a job reads: ids, passthrough and model inputs. */
export interface ColumnOptions {
  readonly input: Pick<Input, 'id' | 'passthrough'>;
  readonly model: Pick<Model, 'inputs'>;
}

/** Readers (CSV, JSON Lines, Parquet) and the batch builders behind them. */
export interface ReaderOptions extends ColumnOptions {
  readonly input: Pick<Input, 'format' | 'csv' | 'id' | 'passthrough'>;
  readonly limits: Pick<JobSpec['limits'], 'batchRows' | 'maxRecordBytes'>;
}

/** Scorers and tensors: how batch columns map onto the model's inputs and outputs. */
export interface ModelMappingOptions {
  readonly model: Pick<Model, 'inputs' | 'outputs'>;
}

/** Part formats: what a scored row carries and how it is written. */
export interface PartOptions {
  readonly input: Pick<Input, 'id' | 'passthrough'>;
  readonly model: Pick<Model, 'outputs'>;
  readonly output: Pick<JobSpec['output'], 'format' | 'decimals' | 'gzip' | 'rowGroupRows'>;
}

/** The shard loop: its reader, scorer mapping, part format, profile switch and challenger. */
export interface ShardOptions {
  readonly input: ReaderOptions['input'];
  readonly model: Pick<Model, 'inputs' | 'outputs' | 'challenger'>;
  readonly output: PartOptions['output'];
  readonly limits: ReaderOptions['limits'];
  readonly monitor: Pick<JobSpec['monitor'], 'profile'>;
}
