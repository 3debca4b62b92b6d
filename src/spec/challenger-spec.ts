/**
 * The job as its challenger scores it: the same inputs (the batches are parsed once, for both
 * models), the challenger's outputs (model.challenger.outputs, else the champion's), its thread
 * count, and no passthrough columns in its parts (ids and its scores only).
 */
import type { JobSpec } from './job-spec.js';

export function challengerJobSpec(spec: JobSpec): JobSpec | undefined {
  const c = spec.model.challenger;
  if (!c) return undefined;
  const { challenger: _c, ...model } = spec.model;
  return {
    ...spec,
    input: { ...spec.input, passthrough: [] },
    model: {
      ...model,
      uri: c.uri,
      ref: c.ref,
      registry: c.registry,
      sha256: c.sha256,
      threads: c.threads ?? spec.model.threads,
      outputs: c.outputs ?? spec.model.outputs,
    },
  };
}
