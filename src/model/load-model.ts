/**
 * Fetches a model through storage, checks its sha256 pin, rewrites what onnxruntime-node cannot
 * return (ZipMap outputs), and creates the session. One session per process (or thread), reused.
 */
import { createHash } from 'node:crypto';
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import { AccessError, ModelError } from '../core/errors.js';
import type { JobSpec } from '../spec/job-spec.js';
import { renderTemplate, type TemplateValues } from '../spec/templates.js';
import { formatLocation, parseLocation } from '../spec/uri.js';
import { readAll } from '../storage/object-store.js';
import type { Stores } from '../storage/stores.js';
import { externalDataTensors } from './external-data.js';
import { rewriteZipMap, type ZipMapRewrite } from './zipmap-rewrite.js';

export interface LoadedModel {
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly zipMapRewrites: readonly ZipMapRewrite[];
}

/** `expectSha256` pins the bytes (a run's shards must score with the model its plan checked). */
export async function fetchModel(spec: JobSpec, baseDir: string, stores: Stores, values: TemplateValues, expectSha256?: string): Promise<LoadedModel> {
  const loc = parseLocation(renderTemplate(spec.model.uri, values), baseDir);
  const uri = formatLocation(loc);
  const { store, key } = stores.resolve(loc);
  let bytes: Buffer;
  try {
    bytes = await readAll(await store.read(key));
  } catch (err) {
    // This process's credentials or filesystem, not the model: keep the class (workers hand on).
    if (err instanceof AccessError) throw new AccessError(err.uri, `model ${uri} cannot be read: ${err.message}`, { cause: err });
    throw new ModelError(`model ${uri} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const model = prepareModel(bytes, uri);
  if (spec.model.sha256 && spec.model.sha256 !== model.sha256) {
    throw new ModelError(`model ${uri} has sha256 ${model.sha256}, but the job pins model.sha256 ${spec.model.sha256}; refusing to score with a different model`);
  }
  if (expectSha256 && expectSha256 !== model.sha256) {
    throw new ModelError(`model ${uri} changed while its run was in progress (sha256 ${model.sha256}, planned with ${expectSha256}); rerun the run`);
  }
  return model;
}

/**
 * Checks model bytes without onnxruntime: they parse as ONNX and keep no tensor in external
 * files; ZipMap outputs are rewritten. `uri` names the model in messages.
 */
export function prepareModel(bytes: Uint8Array, uri: string): LoadedModel {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let rewritten: { model: Uint8Array; rewritten: ZipMapRewrite[] };
  try {
    rewritten = rewriteZipMap(bytes);
  } catch (err) {
    throw new ModelError(`model ${uri} is not a valid ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const external = externalDataTensors(bytes);
  if (external.length > 0) {
    const shown = external.slice(0, 3).map((e) => `${e.name} (location "${e.location.slice(0, 200)}")`).join(', ');
    throw new ModelError(
      `model ${uri} keeps ${external.length} tensor(s) in external data files: ${shown}${external.length > 3 ? ', …' : ''}; nightshift loads models from their bytes and never reads files a model points to: save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))`,
    );
  }
  return { uri, sha256, bytes: rewritten.model, zipMapRewrites: rewritten.rewritten };
}

/** onnxruntime is loaded here, on first use: a worker whose inference runs on threads never loads it on its main thread. */
export async function createSession(model: LoadedModel, threads: number): Promise<Ort.InferenceSession> {
  const ort = requireCommonJs('onnxruntime-node') as typeof Ort;
  try {
    return await ort.InferenceSession.create(model.bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelError(`model ${model.uri} cannot be loaded by onnxruntime: ${(err as Error).message}`, { cause: err });
  }
}
