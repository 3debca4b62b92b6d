/**
 * The job as its challenger scores it: the same inputs (the batches are parsed once, for both
 * models), the challenger's outputs (model.challenger.outputs, else the champion's), its thread
 * count, and no passthrough columns in its parts (ids and its scores only). Works on a whole
 * JobSpec (to load the challenger) and on a component's options (the shard loop's).
 */
import type { JobSpec } from './job-spec.js';

type Model = JobSpec['model'];

interface ChampionLike {
  readonly input: { readonly passthrough: readonly string[] };
  readonly model: Pick<Model, 'challenger' | 'outputs'> & Partial<Pick<Model, 'threads'>>;
}

export function challengerJobSpec<S extends ChampionLike>(spec: S): S | undefined {
  const c = spec.model.challenger;
  if (!c) return undefined;
  const { challenger: _c, ...model } = spec.model;
  const source = { uri: c.uri, ref: c.ref, registry: c.registry, sha256: c.sha256 };
  return {
    ...spec,
    input: { ...spec.input, passthrough: [] },
    model: { ...model, ...source, threads: c.threads ?? spec.model.threads, outputs: c.outputs ?? spec.model.outputs },
  };
}
