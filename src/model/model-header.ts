/**
 * What an ONNX file says about itself besides its inputs and outputs: IR version, producer,
 * opsets and the operators it uses (for `nightshift inspect`). Read from the protobuf, before
 * the ZipMap rewrite, so it describes the file as given.
 */
import type * as OnnxProto from 'onnx-proto';
import { requireCommonJs } from '../core/commonjs.js';
import { ModelError } from '../core/errors.js';

const { onnx } = requireCommonJs('onnx-proto') as typeof OnnxProto;

export interface ModelHeader {
  readonly irVersion: number | undefined;
  readonly producer: string | undefined;
  /** Operator set per domain ("ai.onnx" for the default domain). */
  readonly opsets: readonly { domain: string; version: number }[];
  /** Operator types of the main graph, with how often each occurs, most frequent first. */
  readonly operators: readonly { op: string; count: number }[];
  readonly description: string | undefined;
}

export function readModelHeader(bytes: Uint8Array, uri: string): ModelHeader {
  let model: OnnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(`model ${uri} is not a valid ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
  const counts = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    const op = `${n.domain ? `${n.domain}.` : ''}${n.opType ?? '?'}`;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const producer = [model.producerName, model.producerVersion].filter((s) => s).join(' ');
  return {
    irVersion: num(model.irVersion),
    producer: producer === '' ? undefined : producer,
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain ? o.domain : 'ai.onnx', version: num(o.version) ?? 0 })),
    operators: [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    description: model.docString ? model.docString : undefined,
  };
}
