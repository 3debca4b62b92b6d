/**
 * A batch in and out of a model, the same for every scorer (this thread or an inference thread):
 * the feature arrays the spec's inputs name, and the outputs checked against the spec's shapes.
 */
import type { ColumnarBatch, FeatureArray, ScoreColumns } from '../core/types.js';
import type { Dtype } from '../spec/job-spec.js';
import type { ModelMappingOptions } from '../spec/component-options.js';

export interface FeatureInput {
  readonly name: string;
  readonly dtype: Dtype;
  readonly width: number;
  readonly data: FeatureArray;
}

export function featureInputs(spec: ModelMappingOptions, batch: ColumnarBatch): FeatureInput[] {
  return spec.model.inputs.map((inp) => {
    const data = batch.features.get(inp.name);
    if (!data) throw new Error(`batch has no feature array for model input "${inp.name}"`);
    return { name: inp.name, dtype: inp.dtype, width: inp.columns.length, data };
  });
}

/** What a session returned for one output: its dims and values. */
export interface ModelOutput {
  readonly dims: readonly number[];
  readonly values: ScoreColumns['values'];
}

/** The spec's outputs, in its order, each [rows, columns] as the spec maps it. */
export function scoreColumns(spec: ModelMappingOptions, rows: number, output: (name: string) => ModelOutput | undefined): ScoreColumns[] {
  return spec.model.outputs.map((o) => {
    const t = output(o.name);
    if (!t) throw new Error(`model returned no output "${o.name}"`);
    const width = t.dims.length === 2 ? (t.dims[1] ?? 1) : 1;
    if (t.dims[0] !== rows || width !== o.columns.length) {
      throw new Error(`model output "${o.name}" has shape [${t.dims.join(', ')}], expected [${rows}, ${o.columns.length}]`);
    }
    return { name: o.name, width, values: t.values };
  });
}

/** A batch of no rows scores to empty columns without a session run. */
export function emptyScores(spec: ModelMappingOptions): ScoreColumns[] {
  return spec.model.outputs.map((o) => ({ name: o.name, width: o.columns.length, values: new Float32Array(0) }));
}
