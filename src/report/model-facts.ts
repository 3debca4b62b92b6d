/** The model facts a report names (its champion's, and its challenger's). */
/** The model a run scored with; for a registered version also its name, version and alias. */
export interface ModelFacts {
  uri: string;
  sha256: string;
  zipMapRewrites: { output: string; classLabels: (string | number)[] }[];
  name?: string | undefined;
  version?: number | undefined;
  alias?: string | undefined;
  ref?: string | undefined;
  registry?: string | undefined;
}

export function modelFacts(m: {
  uri: string;
  sha256: string;
  zipMapRewrites: readonly { output: string; classLabels: ReadonlyArray<string | number> }[];
  version?: { name: string; version: number; alias?: string | undefined; ref: string; registry: string } | undefined;
}): ModelFacts {
  const v = m.version;
  return {
    uri: m.uri,
    sha256: m.sha256,
    zipMapRewrites: m.zipMapRewrites.map((z) => ({ output: z.output, classLabels: [...z.classLabels] })),
    ...(v ? { name: v.name, version: v.version, ...(v.alias ? { alias: v.alias } : {}), ref: v.ref, registry: v.registry } : {}),
  };
}
