/**
 * Fetches a model through storage, checks its sha256 pin, rewrites what onnxruntime-node cannot
 * return (ZipMap outputs), and creates the session. One session per process (or thread), reused.
 */
import { createHash } from 'node:crypto';
import type * as Ort from 'onnxruntime-node';
import { requireCommonJs } from '../core/commonjs.js';
import { AccessError, CancelledError, ModelError } from '../core/errors.js';
import { renderTemplate, type TemplateValues } from '../spec/templates.js';
import { formatLocation, parseLocation } from '../spec/uri.js';
import { readAll } from '../storage/object-store.js';
import type { Stores } from '../storage/stores.js';
import { externalDataTensors } from './external-data.js';
import { rewriteZipMap, type ZipMapRewrite } from './zipmap-rewrite.js';

/** A registered version a model came from (see registry/): what the report names. */
export interface ModelVersionInfo {
  readonly name: string;
  readonly version: number;
  /** The alias the job named, when it named one (the version is what it pointed to at plan time). */
  readonly alias?: string | undefined;
  /** As the job (or --model) wrote it, e.g. fraud@champion. */
  readonly ref: string;
  readonly registry: string;
}

/** Where a run's model bytes are, resolved once when the run is planned. */
export interface ModelSource {
  /** The model object's location (a registered version's model.onnx for a ref). */
  readonly uri: string;
  /**
   * Which spec field named it, for messages a user can act on: `model.uri "m.onnx" (relative to
   * the spec file's folder /jobs)` or `model.ref "fraud@champion"`.
   */
  readonly origin?: string | undefined;
  /** The bytes must hash to this (the job's pin, or the version's record). */
  readonly sha256?: string | undefined;
  readonly version?: ModelVersionInfo | undefined;
}

export interface LoadedModel {
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly zipMapRewrites: readonly ZipMapRewrite[];
  readonly version?: ModelVersionInfo | undefined;
}

/** The model, as the job's model.uri names it for this run (templates rendered). */
export function sourceFromUri(uri: string, sha256: string | undefined, baseDir: string, values: TemplateValues): ModelSource {
  const relative = !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('/');
  const origin = `model.uri "${uri}"${relative ? ` (relative to the spec file's folder, ${baseDir})` : ''}`;
  return { uri: formatLocation(parseLocation(renderTemplate(uri, values), baseDir)), sha256, origin };
}

/**
 * `expectSha256` pins the bytes (a run's shards must score with the model its plan checked);
 * `signal` stops a download that a cancel or shutdown made pointless (models can be large).
 */
export async function fetchModel(source: ModelSource, stores: Stores, expectSha256?: string, signal?: AbortSignal): Promise<LoadedModel> {
  const uri = source.uri;
  const { store, key } = stores.resolve(parseLocation(uri, '/'));
  let bytes: Buffer;
  try {
    bytes = await readAll(await store.read(key, signal ? { signal } : {}));
  } catch (err) {
    if (signal?.aborted)
      throw new CancelledError(`download of model ${uri} stopped: ${signal.reason instanceof Error ? signal.reason.message : 'cancelled'}`, { cause: err });
    // Name the spec field first (the user edits that), and drop the store's repeat of the URI.
    const reason = (err as Error).message.replace(`read ${uri}: `, '').replace(`${uri}: `, '');
    const message = `${source.origin ? `${source.origin}: ` : ''}model ${uri} cannot be read: ${reason}`;
    // This process's credentials or filesystem, not the model: keep the class (workers hand on).
    if (err instanceof AccessError) throw new AccessError(err.uri, message, { cause: err });
    throw new ModelError(message, { cause: err });
  }
  const model = { ...prepareModel(bytes, uri), ...(source.version ? { version: source.version } : {}) };
  if (source.sha256 && source.sha256 !== model.sha256) {
    const pinned = source.version
      ? `${source.version.name}@${source.version.version}'s version.json records sha256 ${source.sha256}: the registered model was changed`
      : `the job pins model.sha256 ${source.sha256}`;
    throw new ModelError(`model ${uri} has sha256 ${model.sha256}, but ${pinned}; refusing to score with a different model`);
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
    const shown = external
      .slice(0, 3)
      .map((e) => `${e.name} (location "${e.location.slice(0, 200)}")`)
      .join(', ');
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
