/**
 * Load-time rewrite of sklearn-style ZipMap outputs.
 *
 * sklearn-onnx / onnxmltools classifiers (default options) end with an
 * ai.onnx.ml ZipMap node whose output is sequence(map(label, float)).
 * onnxruntime-node cannot return non-tensor outputs ("Non tensor type is
 * temporarily not supported"), so such models are unusable as-is. ZipMap only
 * re-labels the [N, C] probability tensor it receives, so replacing it with an
 * Identity that keeps the output name gives the same numbers as a plain
 * float32 [N, C] tensor whose column i belongs to classLabels[i].
 */
import type * as OnnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { requireCommonJs } from '../core/commonjs.js';

// onnx-proto is CommonJS (`module.exports = root`); require() is much cheaper than import() here.
const { onnx } = requireCommonJs('onnx-proto') as typeof OnnxProto;

const ML_DOMAIN = 'ai.onnx.ml';
const DEFAULT_BATCH_DIM = 'N';

export interface ZipMapRewrite {
  /** Graph output name, unchanged (e.g. 'output_probability'). */
  output: string;
  /** Class label of each column of the rewritten [N, C] tensor, in order. */
  classLabels: Array<string | number>;
}

export interface ZipMapRewriteResult {
  model: Uint8Array;
  rewritten: ZipMapRewrite[];
}

/**
 * Replace every ZipMap feeding a graph output by an Identity and retype that
 * output as float32 [N, C]. Returns the input bytes untouched (same object)
 * when the model has no ZipMap. Throws if a ZipMap cannot be rewritten safely.
 *
 * Note: protobufjs drops fields unknown to onnx-proto's schema (ONNX 1.10) on
 * decode, so only models that actually contain a ZipMap are re-encoded.
 */
export function rewriteZipMap(model: Uint8Array): ZipMapRewriteResult {
  let decoded: Onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(model);
  } catch (err) {
    throw new Error(`rewriteZipMap: cannot parse ONNX model: ${errorMessage(err)}`, { cause: err });
  }
  const graph = decoded.graph;
  if (graph === null || graph === undefined) {
    throw new Error('rewriteZipMap: model has no graph');
  }

  // protobufjs types repeated fields as optional; normalize once.
  const nodes = graph.node ?? [];
  const graphOutputs = graph.output ?? [];

  // ZipMaps nested in control-flow subgraphs can't be turned into top-level
  // outputs; bail out loudly rather than hand ORT a model it will reject.
  for (const node of nodes) {
    for (const sub of subgraphsOf(node)) {
      if (containsZipMap(sub)) {
        throw new Error(
          `rewriteZipMap: node '${node.name ?? node.opType ?? '?'}' has a subgraph containing ZipMap; ` +
            'only top-level ZipMaps feeding graph outputs can be rewritten',
        );
      }
    }
  }

  const zipMaps = nodes.filter(isZipMap);
  if (zipMaps.length === 0) return { model, rewritten: [] };

  const outputNames = new Set(graphOutputs.map((o) => o.name ?? ''));
  const consumed = consumedNames(graph);
  const batchDim = batchDimOf(graph);
  const rewritten: ZipMapRewrite[] = [];

  for (const zm of zipMaps) {
    const label = zm.name !== null && zm.name !== undefined && zm.name !== '' ? zm.name : 'ZipMap';
    const zmInputs = zm.input ?? [];
    const zmOutputs = zm.output ?? [];
    const input = zmInputs[0];
    const output = zmOutputs[0];
    if (input === undefined || input === '' || output === undefined || output === '' || zmOutputs.length !== 1) {
      throw new Error(`rewriteZipMap: ZipMap '${label}' must have exactly one input and one output`);
    }
    if (!outputNames.has(output) || consumed.has(output)) {
      const consumers = consumed.get(output) ?? [];
      throw new Error(
        `rewriteZipMap: ZipMap '${label}' output '${output}' ` +
          (outputNames.has(output) ? '' : 'is not a graph output ') +
          (consumers.length > 0 ? `feeds node(s) ${consumers.map((c) => `'${c}'`).join(', ')} ` : '') +
          '- only a ZipMap whose output is used solely as a graph output can be replaced by a tensor output',
      );
    }

    const classLabels = zipMapLabels(zm, label);

    // Identity keeps the graph output name stable for users' output mappings.
    const identity = onnx.NodeProto.create({
      opType: 'Identity',
      domain: '',
      name: `${label}_zipmap_rewrite`,
      input: [input],
      output: [output],
    });
    nodes[nodes.indexOf(zm)] = identity;

    const outInfo = graphOutputs.find((o) => o.name === output);
    if (outInfo !== undefined) {
      outInfo.type = onnx.TypeProto.create({
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [batchDim, { dimValue: classLabels.length }] },
        },
      });
    }
    // A stale sequence(map) value_info for the same name would contradict the new type.
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== output);

    rewritten.push({ output, classLabels });
  }

  graph.node = nodes;
  ensureDefaultOpset(decoded);
  // protobufjs hands back a pooled Buffer under Node; copy so callers own a plain Uint8Array.
  return { model: new Uint8Array(onnx.ModelProto.encode(decoded).finish()), rewritten };
}

function isZipMap(node: Onnx.INodeProto): boolean {
  return node.opType === 'ZipMap' && node.domain === ML_DOMAIN;
}

function subgraphsOf(node: Onnx.INodeProto): Onnx.IGraphProto[] {
  const out: Onnx.IGraphProto[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g !== null && a.g !== undefined) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

function containsZipMap(graph: Onnx.IGraphProto): boolean {
  return (graph.node ?? []).some((n) => isZipMap(n) || subgraphsOf(n).some(containsZipMap));
}

/** value name -> names of nodes reading it, including reads from inside subgraphs (outer-scope refs). */
function consumedNames(graph: Onnx.IGraphProto): Map<string, string[]> {
  const consumers = new Map<string, string[]>();
  const visit = (g: Onnx.IGraphProto): void => {
    for (const n of g.node ?? []) {
      for (const i of n.input ?? []) {
        if (i === '') continue;
        const list = consumers.get(i) ?? [];
        list.push(n.name ?? n.opType ?? '?');
        consumers.set(i, list);
      }
      subgraphsOf(n).forEach(visit);
    }
  };
  visit(graph);
  return consumers;
}

function zipMapLabels(node: Onnx.INodeProto, label: string): Array<string | number> {
  const attrs = node.attribute ?? [];
  const ints = attrs.find((a) => a.name === 'classlabels_int64s');
  const strings = attrs.find((a) => a.name === 'classlabels_strings');
  let labels: Array<string | number> = [];
  if (ints !== undefined && (ints.ints?.length ?? 0) > 0) {
    labels = (ints.ints ?? []).map(int64ToLabel);
  } else if (strings !== undefined && (strings.strings?.length ?? 0) > 0) {
    const dec = new TextDecoder();
    labels = (strings.strings ?? []).map((s) => dec.decode(s));
  }
  if (labels.length === 0) {
    throw new Error(`rewriteZipMap: ZipMap '${label}' has no classlabels_int64s or classlabels_strings`);
  }
  return labels;
}

/** int64 labels decode as Long (or number); keep them numbers unless they'd lose precision. */
function int64ToLabel(v: number | { toString(): string }): string | number {
  if (typeof v === 'number') return v;
  const s = v.toString();
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

/**
 * Batch dim for the new output: reuse the first input's leading dim when it is
 * symbolic (so metadata stays consistent, e.g. 'N' or 'batch_size'), else 'N'.
 * A fixed leading dim is also symbolic here since ZipMap gives us no shape.
 */
function batchDimOf(graph: Onnx.IGraphProto): Onnx.TensorShapeProto.IDimension {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const firstInput = (graph.input ?? []).find((i) => !inits.has(i.name ?? ''));
  const dim0 = firstInput?.type?.tensorType?.shape?.dim?.[0];
  const param = dim0?.dimParam;
  return { dimParam: param !== null && param !== undefined && param !== '' ? param : DEFAULT_BATCH_DIM };
}

/** Identity lives in the default domain; ML-only models may not import it. */
function ensureDefaultOpset(model: Onnx.ModelProto): void {
  const hasDefault = model.opsetImport.some((o) => o.domain === '' || o.domain === 'ai.onnx' || o.domain == null);
  if (!hasDefault) {
    // Identity exists since opset 1; 13 is old enough for any ORT and new enough for all dtypes.
    model.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: '', version: 13 }));
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
