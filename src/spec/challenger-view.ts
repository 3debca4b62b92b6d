/**
 * The job as its challenger sees it: the same inputs (it scores the same parsed batches), its
 * own model source, threads and output mapping (the job's, unless it gives one). Scorers and the
 * mapping check take this view, so they need not know about challengers.
 */
import type { JobSpec } from './job-spec.js';

export function challengerView(spec: JobSpec): JobSpec | undefined {
  const c = spec.challenger;
  if (!c) return undefined;
  const { uri: _u, ref: _r, registry: _g, sha256: _s, ...mapping } = spec.model;
  return {
    ...spec,
    model: {
      ...mapping,
      ...(c.uri !== undefined ? { uri: c.uri } : {}),
      ...(c.ref !== undefined ? { ref: c.ref } : {}),
      ...(c.registry !== undefined ? { registry: c.registry } : {}),
      ...(c.sha256 !== undefined ? { sha256: c.sha256 } : {}),
      threads: c.threads,
      outputs: c.outputs ?? spec.model.outputs,
    },
    challenger: undefined,
  };
}
