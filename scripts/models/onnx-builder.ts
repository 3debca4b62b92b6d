/**
 * Small typed helper over onnx-proto (protobufjs 6) for building ONNX graphs
 * by hand. Used by the model generators in this folder; no model hub is
 * reachable, so the project builds its own fixtures and must make them look
 * like what real converters (sklearn-onnx, onnxmltools, torch) emit.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS with `module.exports = root`; Node's ESM loader only
// exposes it as the default export (a named `{ onnx }` import fails at runtime).
const { onnx } = onnxProto;
export { onnx };
export type { OnnxTypes };

/** Opsets used by every generated model. onnxruntime 1.30 supports both. */
export const OPSET_ONNX = 17;
export const OPSET_ML = 3;
export const ML_DOMAIN = 'ai.onnx.ml';
export const IR_VERSION = 8;

/** Default symbolic batch dimension. */
export const BATCH_DIM = 'N';

export type ElemType = 'float32' | 'int64' | 'string' | 'float64' | 'int32' | 'bool';

const ELEM_TYPE_CODES: Readonly<Record<ElemType, OnnxTypes.TensorProto.DataType>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
};

export function elemTypeCode(t: ElemType): OnnxTypes.TensorProto.DataType {
  return ELEM_TYPE_CODES[t];
}

/** A dimension: a fixed size, or a symbolic name such as 'N'. */
export type Dim = number | string;

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

/**
 * Tagged attribute values. JS numbers cannot tell int from float, so the
 * attribute kind is explicit (use the `attr.*` helpers).
 */
export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: ArrayLike<number> }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: OnnxTypes.ITensorProto };

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: ArrayLike<number>): AttrValue => ({ kind: 'floats', value }),
  strings: (value: readonly string[]): AttrValue => ({ kind: 'strings', value }),
  tensor: (value: OnnxTypes.ITensorProto): AttrValue => ({ kind: 'tensor', value }),
} as const;

const utf8 = new TextEncoder();
const AT = onnx.AttributeProto.AttributeType;

function checkInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not a safe integer`);
  return v;
}

export function makeAttribute(name: string, v: AttrValue): OnnxTypes.IAttributeProto {
  switch (v.kind) {
    case 'int':
      return { name, type: AT.INT, i: checkInt(name, v.value) };
    case 'float':
      return { name, type: AT.FLOAT, f: v.value };
    case 'string':
      return { name, type: AT.STRING, s: utf8.encode(v.value) };
    case 'ints':
      return { name, type: AT.INTS, ints: v.value.map((x) => checkInt(name, x)) };
    case 'floats':
      return { name, type: AT.FLOATS, floats: Array.from(v.value) };
    case 'strings':
      return { name, type: AT.STRINGS, strings: v.value.map((s) => utf8.encode(s)) };
    case 'tensor':
      return { name, type: AT.TENSOR, t: v.value };
  }
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

export interface NodeOptions {
  /** Operator domain; '' (default ONNX) unless given, e.g. ML_DOMAIN. */
  domain?: string;
  name?: string;
  attributes?: Readonly<Record<string, AttrValue>>;
}

export function makeNode(opType: string, inputs: readonly string[], outputs: readonly string[], options: NodeOptions = {}): OnnxTypes.INodeProto {
  const attributes = Object.entries(options.attributes ?? {}).map(([k, v]) => makeAttribute(k, v));
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    name: options.name ?? `${opType}_${outputs[0] ?? 'node'}`,
    domain: options.domain ?? '',
    attribute: attributes,
  };
}

// ---------------------------------------------------------------------------
// Initializers
// ---------------------------------------------------------------------------

function checkSize(name: string, dims: readonly number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new Error(`initializer ${name}: dims [${dims.join(',')}] need ${expected} values, got ${length}`);
  }
}

/**
 * float32 initializer stored as little-endian raw_data (what torch and most
 * converters emit; ONNX mandates little-endian regardless of the host).
 */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTypes.ITensorProto {
  checkSize(name, dims, values.length);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

/** int64 initializer stored in int64_data. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTypes.ITensorProto {
  checkSize(name, dims, values.length);
  return {
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.INT64,
    int64Data: values.map((v) => checkInt(name, v)),
  };
}

// ---------------------------------------------------------------------------
// Types and value infos
// ---------------------------------------------------------------------------

export function tensorType(elemType: ElemType, dims?: readonly Dim[]): OnnxTypes.ITypeProto {
  const tensor: OnnxTypes.TypeProto.ITensor = { elemType: elemTypeCode(elemType) };
  if (dims !== undefined) {
    tensor.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { tensorType: tensor };
}

/** Type of sklearn's ZipMap output: sequence(map(key, float)). */
export function seqMapType(keyType: 'int64' | 'string'): OnnxTypes.ITypeProto {
  return {
    sequenceType: {
      elemType: {
        mapType: {
          keyType: elemTypeCode(keyType),
          valueType: tensorType('float32'),
        },
      },
    },
  };
}

export function valueInfo(name: string, type: OnnxTypes.ITypeProto): OnnxTypes.IValueInfoProto {
  return { name, type };
}

/** Tensor input/output value info; e.g. tensorInfo('x', 'float32', ['N', 8]). */
export function tensorInfo(name: string, elemType: ElemType, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return valueInfo(name, tensorType(elemType, dims));
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

export interface OpsetSpec {
  domain: string;
  version: number;
}

export interface ModelSpec {
  graphName: string;
  nodes: readonly OnnxTypes.INodeProto[];
  inputs: readonly OnnxTypes.IValueInfoProto[];
  outputs: readonly OnnxTypes.IValueInfoProto[];
  initializers?: readonly OnnxTypes.ITensorProto[];
  /** Extra value infos for intermediate tensors (optional). */
  valueInfos?: readonly OnnxTypes.IValueInfoProto[];
  /** Defaults to [{'' : OPSET_ONNX}, {'ai.onnx.ml': OPSET_ML}]. */
  opsets?: readonly OpsetSpec[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

export const DEFAULT_OPSETS: readonly OpsetSpec[] = [
  { domain: '', version: OPSET_ONNX },
  { domain: ML_DOMAIN, version: OPSET_ML },
];

export function makeModel(spec: ModelSpec): OnnxTypes.IModelProto {
  return {
    irVersion: IR_VERSION,
    producerName: spec.producerName ?? 'nightshift-model-builder',
    producerVersion: spec.producerVersion ?? '1',
    docString: spec.docString ?? '',
    opsetImport: (spec.opsets ?? DEFAULT_OPSETS).map((o) => ({ domain: o.domain, version: o.version })),
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName,
      node: [...spec.nodes],
      input: [...spec.inputs],
      output: [...spec.outputs],
      initializer: [...(spec.initializers ?? [])],
      valueInfo: [...(spec.valueInfos ?? [])],
    },
  };
}

/** Build and serialize a model. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const model = makeModel(spec);
  const err = onnx.ModelProto.verify(model);
  if (err !== null) throw new Error(`invalid ModelProto: ${err}`);
  // protobufjs returns a (possibly pooled) Buffer under Node; copy to a standalone Uint8Array.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

/** Parse serialized bytes (handy for tests and inspection). */
export function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
