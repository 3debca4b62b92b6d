/** The models page: each model's newest versions (records) and its aliases (where they point, who moved them). */
import type { AliasRecord, VersionRecord } from '../registry/registry-records.js';
import type { ModelRegistry } from '../registry/model-registry.js';

export const VERSIONS_SHOWN = 20;

export interface ModelView {
  readonly name: string;
  /** Newest first, at most VERSIONS_SHOWN. */
  readonly versions: readonly VersionRecord[];
  readonly versionCount: number;
  readonly aliases: readonly AliasRecord[];
}

export async function loadModels(registry: ModelRegistry): Promise<ModelView[]> {
  const summaries = await registry.list();
  return Promise.all(
    summaries.map(async (s): Promise<ModelView> => {
      const newest = [...s.versions].sort((a, b) => b - a).slice(0, VERSIONS_SHOWN);
      const [versions, aliases] = await Promise.all([Promise.all(newest.map((n) => registry.version(s.name, n))), registry.aliases(s.name)]);
      return { name: s.name, versions, versionCount: s.versions.length, aliases };
    }),
  );
}
