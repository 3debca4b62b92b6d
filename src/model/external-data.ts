/**
 * Finds tensors whose data an ONNX model keeps outside itself (data_location EXTERNAL, with a
 * file name in external_data "location").
 *
 * nightshift loads models from bytes. onnxruntime then resolves external data against the
 * process's working directory: it refuses paths that leave it (../../etc/passwd) or are
 * absolute, but a relative path inside it is read — a model could turn a worker's local files
 * into "weights" and its scores. Whether that happens depends on onnxruntime internals (with
 * graph optimisation on, an unrelated check happens to fail first), so models with external data
 * are refused before onnxruntime sees them.
 */
import type * as OnnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { requireCommonJs } from '../core/commonjs.js';

// onnx-proto is CommonJS (`module.exports = root`); require() is much cheaper than import() here.
const { onnx } = requireCommonJs('onnx-proto') as typeof OnnxProto;

export interface ExternalTensor {
  /** Tensor (initializer) name, or where it sits when unnamed. */
  readonly name: string;
  readonly location: string;
}

/** Every tensor of the model stored as external data. Throws if the bytes do not parse. */
export function externalDataTensors(bytes: Uint8Array): ExternalTensor[] {
  const model = onnx.ModelProto.decode(bytes);
  const found: ExternalTensor[] = [];
  const tensor = (t: Onnx.ITensorProto | null | undefined, where: string): void => {
    if (!t || t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
    const location = t.externalData?.find((e) => e.key === 'location')?.value ?? '';
    found.push({ name: t.name || where, location });
  };
  const sparse = (s: Onnx.ISparseTensorProto | null | undefined, where: string): void => {
    tensor(s?.values, where);
    tensor(s?.indices, where);
  };
  const nodes = (list: readonly Onnx.INodeProto[] | null | undefined, where: string): void => {
    for (const n of list ?? []) {
      const at = `${where}/${n.name || n.opType || 'node'}`;
      for (const a of n.attribute ?? []) {
        tensor(a.t, `${at}.${a.name ?? ''}`);
        for (const t of a.tensors ?? []) tensor(t, `${at}.${a.name ?? ''}`);
        sparse(a.sparseTensor, `${at}.${a.name ?? ''}`);
        for (const s of a.sparseTensors ?? []) sparse(s, `${at}.${a.name ?? ''}`);
        graph(a.g, at);
        for (const g of a.graphs ?? []) graph(g, at);
      }
    }
  };
  const graph = (g: Onnx.IGraphProto | null | undefined, where: string): void => {
    if (!g) return;
    const at = `${where}/${g.name || 'graph'}`;
    for (const t of g.initializer ?? []) tensor(t, at);
    for (const s of g.sparseInitializer ?? []) sparse(s, at);
    nodes(g.node, at);
  };
  graph(model.graph, '');
  for (const f of model.functions ?? []) nodes(f.node, `function ${f.name ?? ''}`);
  for (const ti of model.trainingInfo ?? []) {
    graph(ti.initialization, 'training');
    graph(ti.algorithm, 'training');
  }
  return found;
}
