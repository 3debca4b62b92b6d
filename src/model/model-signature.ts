/**
 * What a model declares (inputs and outputs with types and shapes), read by really loading it
 * with onnxruntime: a file onnxruntime cannot load never gets a signature, so it is never
 * registered.
 */
import { ModelError } from '../core/errors.js';
import type { ModelSignature } from './signature.js';
import type { ModelMetadata } from './check-mapping.js';
import { createSession, prepareModel, type LoadedModel } from './load-model.js';

export interface InspectedModel {
  readonly model: LoadedModel;
  readonly size: number;
  readonly signature: ModelSignature;
}

/** Throws ModelError for bytes that are not ONNX, keep external data, or do not load. */
export async function inspectModel(bytes: Uint8Array, uri: string): Promise<InspectedModel> {
  if (bytes.length === 0) throw new ModelError(`model ${uri} is empty (0 bytes)`);
  const model = prepareModel(bytes, uri);
  const session = await createSession(model, 1);
  try {
    return { model, size: bytes.length, signature: signatureOf(session) };
  } finally {
    await session.release();
  }
}

export function signatureOf(meta: ModelMetadata): ModelSignature {
  const one = (m: ModelMetadata['inputMetadata'][number]): ModelSignature['inputs'][number] =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : d)) }
      : { name: m.name, type: 'non-tensor', shape: [] };
  return { inputs: meta.inputMetadata.map(one), outputs: meta.outputMetadata.map(one) };
}

/**
 * The metadata check-mapping expects, rebuilt from a stored signature (so a plan can check a
 * job against a registered version before loading it).
 */
export function metadataOf(signature: ModelSignature): ModelMetadata {
  const one = (t: ModelSignature['inputs'][number]) =>
    t.type === 'non-tensor'
      ? ({ name: t.name, isTensor: false } as const)
      : ({ name: t.name, isTensor: true, type: t.type, shape: t.shape.map((d) => (d === '?' ? -1 : d)) } as const);
  return { inputMetadata: signature.inputs.map(one), outputMetadata: signature.outputs.map(one) } as unknown as ModelMetadata;
}
