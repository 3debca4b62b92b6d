/**
 * The model-session port: takes a columnar batch, returns the mapped outputs column-wise.
 * This implementation runs onnxruntime-node on the calling thread.
 */
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import type { ColumnarBatch, ScoreColumns } from '../core/types.js';
import type { JobSpec } from '../spec/job-spec.js';

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
    private readonly spec: JobSpec,
  ) {
    this.fetches = spec.model.outputs.map((o) => o.name);
  }

  async score(batch: ColumnarBatch): Promise<ScoreColumns[]> {
    if (batch.rows === 0) return this.spec.model.outputs.map((o) => ({ name: o.name, width: o.columns.length, values: new Float32Array(0) }));
    const feeds: Record<string, Ort.Tensor> = {};
    for (const inp of this.spec.model.inputs) {
      const data = batch.features.get(inp.name);
      if (!data) throw new Error(`batch has no feature array for model input "${inp.name}"`);
      feeds[inp.name] = new this.ort.Tensor(inp.dtype, data, [batch.rows, inp.columns.length]);
    }
    const result = await this.session.run(feeds, this.fetches);
    return this.spec.model.outputs.map((o) => {
      const t = result[o.name];
      if (!t) throw new Error(`model returned no output "${o.name}"`);
      const width = t.dims.length === 2 ? Number(t.dims[1]) : 1;
      if (Number(t.dims[0]) !== batch.rows || width !== o.columns.length) {
        throw new Error(`model output "${o.name}" has shape [${t.dims.join(', ')}], expected [${batch.rows}, ${o.columns.length}]`);
      }
      return { name: o.name, width, values: t.data as ScoreColumns['values'] };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
