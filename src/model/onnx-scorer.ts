/**
 * The model-session port: takes a columnar batch, returns the mapped outputs column-wise.
 * This implementation runs onnxruntime-node on the calling thread.
 */
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import type { ColumnarBatch, ScoreColumns } from '../core/types.js';
import type { ModelMappingOptions } from '../spec/component-options.js';
import { emptyScores, featureInputs, scoreColumns } from './batch-tensors.js';

export interface Scorer {
  score(batch: ColumnarBatch): Promise<ScoreColumns[]>;
  close(): Promise<void>;
}

export class OnnxScorer implements Scorer {
  private readonly fetches: string[];
  // Loaded here, not at import: a worker whose inference runs on threads never needs it.
  private readonly ort = requireCommonJs('onnxruntime-node') as typeof Ort;
  constructor(
    private readonly session: Ort.InferenceSession,
    private readonly spec: ModelMappingOptions,
  ) {
    this.fetches = spec.model.outputs.map((o) => o.name);
  }

  async score(batch: ColumnarBatch): Promise<ScoreColumns[]> {
    if (batch.rows === 0) return emptyScores(this.spec);
    const feeds: Record<string, Ort.Tensor> = {};
    for (const f of featureInputs(this.spec, batch)) feeds[f.name] = new this.ort.Tensor(f.dtype, f.data, [batch.rows, f.width]);
    const result = await this.session.run(feeds, this.fetches);
    return scoreColumns(this.spec, batch.rows, (name) => {
      const t = result[name];
      return t && { dims: t.dims.map(Number), values: t.data as ScoreColumns['values'] };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
