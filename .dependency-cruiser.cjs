/**
 * Which folder of src/ may import which: the data flow of STYLE.md as layers.
 *
 * The flow of a run is spec → scheduler → queue → worker → storage → formats → model → scoring
 * → report, with cli/ and http/ at the edge and core/ under everything. Imports do not simply
 * follow those arrows (every stage reads the job spec; the worker consumes what the scheduler
 * enqueues), so the rule is stated as layers: a folder imports only folders in layers BELOW its
 * own, never a peer in its own layer, never one above. That makes a cycle between folders
 * impossible, and an import "against the flow" is exactly an import upwards.
 *
 * Top to bottom:
 *   cli, then http       the edges: parse argv / HTTP, call into the rest, map errors to outcomes.
 *                        cli starts the HTTP server (serve), so cli sits above http.
 *   dashboard            the HTML pages serve mounts next to the API (http mounts it, so it sits
 *                        below http); it reads runs, reports, registry and schedules below it.
 *   scheduler | worker   the two processes around the queue: the scheduler enqueues runs, the
 *                        worker consumes them; neither knows the other.
 *   queue                BullMQ names, payloads, the run registry: the contract between producers
 *                        (scheduler, cli, http) and consumers (worker).
 *   run                  one run's stages (plan, shard, finalize, publish) and the in-process
 *                        executor `score`; the queue carries what run/ defines.
 *   scoring | registry   scoring: one shard: reads input through formats, scores with model, summarises
 *                        for report, writes parts through formats.
 *                        registry: model versions and aliases on the bucket; the plan resolves
 *                        a job's model.ref through it, cli/http manage it; it reads models
 *                        through model/ and keeps them in storage/.
 *   formats | model | report   the stages scoring drives; independent of each other.
 *   monitor              per-shard profiles and per-run drift: scoring collects profiles, the
 *                        report carries them, so monitor sits below both (it reads the job spec
 *                        and baselines from storage; it does not know the report's shape).
 *   storage              the object-store port (S3, local filesystem).
 *   spec                 the job spec: every stage reads it, so it sits low.
 *   core                 errors, shared types, helpers: imports nothing else in src/.
 * src/index.ts (the library's export list) may import anything; nothing imports it.
 *
 * A new folder must be added to LAYERS (the rule `folder-has-a-layer` fails until it is).
 */
const LAYERS = [
  ['cli'],
  ['http'],
  ['dashboard'],
  ['scheduler', 'worker'],
  ['queue'],
  ['run'],
  ['scoring', 'registry'],
  ['formats', 'model', 'report'],
  ['monitor'],
  ['storage'],
  ['spec'],
  ['core'],
];

const KNOWN = LAYERS.flat();

/** For each folder, the folders it must not import: its peers and every layer above it. */
const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(0, i).flat();
  return layer.map((folder) => {
    const banned = [...above, ...layer.filter((peer) => peer !== folder)];
    return {
      name: `layer-${folder}`,
      comment: `src/${folder}/ may import only folders below its layer (${
        LAYERS.slice(i + 1)
          .flat()
          .join(', ') || 'none'
      }); see LAYERS in .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: banned.length ? `^src/(${banned.join('|')})/` : '^$' },
    };
  });
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'folder-has-a-layer',
      comment: 'every folder of src/ has a place in LAYERS (.dependency-cruiser.cjs): say where it sits in the flow',
      severity: 'error',
      from: { path: `^src/[^/]+/`, pathNot: `^src/(${KNOWN.join('|')})/` },
      to: {},
    },
    {
      name: 'no-import-of-index',
      comment: 'src/index.ts is the public export list; modules import each other directly',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'a module cycle (even inside one folder) makes load order and initialisation fragile',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'the published package installs without devDependencies; src/ may use them only for types or in dev-only shims (*.dev.mjs)',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.dev\\.mjs$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-non-package-json',
      comment: 'an import of a package that is not in package.json works only by accident of hoisting',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type is still a dependency of the folder that names it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
