/**
 * Resolves where a run's model comes from, once, when the run is planned: a
 * model.uri renders to a location; a model.ref is looked up in the registry and pinned to the
 * version it names now and that version's sha256. Every shard then reads exactly those bytes,
 * whatever happens to the alias while the run is in progress.
 */
import { ModelError, RegistryError, RegistryNotFoundError } from '../core/errors.js';
import { sourceFromUri, type ModelSource } from '../model/load-model.js';
import type { ModelSourceSpec } from '../spec/job-spec.js';
import { formatModelRef, parseModelRef } from '../spec/model-ref.js';
import type { TemplateValues } from '../spec/templates.js';
import type { Stores } from '../storage/stores.js';
import { defaultRegistryUri, openRegistry } from './open-registry.js';

/**
 * `override`: a reference given for this run (`trigger --model fraud@7`), used instead of the
 * job's uri or ref; it is looked up in the job's registry, else NIGHTSHIFT_REGISTRY.
 */
export async function resolveModelSource(
  src: ModelSourceSpec,
  baseDir: string,
  stores: Stores,
  values: TemplateValues,
  override?: string,
): Promise<ModelSource> {
  const refText = override ?? src.ref;
  if (refText === undefined) return sourceFromUri(src.uri as string, src.sha256, baseDir, values);
  const ref = parseModelRef(refText);
  const origin = override === undefined ? `model.ref "${refText}"` : `--model ${refText}`;
  const { registry, resolved } = await lookUp(src.registry, baseDir, stores, ref).catch((err: unknown) => {
    throw named(err, src.registry === undefined ? origin : `${origin} (model.registry "${src.registry}")`);
  });
  if (src.sha256 && !override && src.sha256 !== resolved.record.sha256) {
    throw new ModelError(
      `${formatModelRef(ref)} is version ${resolved.version} (sha256 ${resolved.record.sha256}), but the job pins sha256 ${src.sha256}; refusing to score with a different model`,
    );
  }
  return {
    uri: `${registry.uri}${resolved.name}/versions/${resolved.version}/model.onnx`,
    origin,
    sha256: resolved.record.sha256,
    version: { name: resolved.name, version: resolved.version, alias: resolved.alias, ref: formatModelRef(ref), registry: registry.uri },
  };
}

async function lookUp(registryUri: string | undefined, baseDir: string, stores: Stores, ref: ReturnType<typeof parseModelRef>) {
  if (registryUri === undefined && defaultRegistryUri() === undefined) {
    throw new RegistryError('no model registry given: set model.registry in the job (s3://bucket/prefix/ or a folder) or NIGHTSHIFT_REGISTRY');
  }
  const registry = await openRegistry(registryUri ?? defaultRegistryUri(), stores, baseDir);
  return { registry, resolved: await registry.resolve(ref) };
}

/** The same registry error, its message starting with the spec field that led to it. */
function named(err: unknown, origin: string): unknown {
  if (err instanceof RegistryNotFoundError) return new RegistryNotFoundError(`${origin}: ${err.message}`, { cause: err });
  if (err instanceof RegistryError && err.constructor === RegistryError) return new RegistryError(`${origin}: ${err.message}`, { cause: err });
  return err;
}

/** How messages name a model: "fraud@3 (alias champion)" for a registered version, else its location. */
export function modelDisplayName(source: ModelSource): string {
  const v = source.version;
  return v ? `${v.name}@${v.version}${v.alias ? ` (${v.name}@${v.alias})` : ''}` : source.uri;
}
