// Build step after tsc (npm run build, prepare): bundles two entry points of the compiled build
// into few modules, each used only when it exists and is not older than the compiled modules (a
// bare `tsc` leaves an old bundle behind; then the compiled modules load, as without esbuild):
//
// - the shard thread of `score --threads` (dist/run/shard-thread.js and the packages it imports)
//   → dist/run/shard-thread.bundle.mjs, which run/shard-threads.ts starts. Every shard thread
//   imports its modules again: as ~150 separate ES modules (zod alone is dozens) that took ~125 ms
//   of the thread's CPU before it could score (median of 7 fresh threads, load 7); as one, ~72 ms.
// - the command line (dist/cli/main.js) → dist/cli-bundle/main.js, which bin/nightshift.js runs,
//   split at each dynamic import so a command loads only its own chunks. `worker` loaded ~1,500
//   files (bullmq, ioredis, yaml, zod, …) before it was ready: ~640 ms of CPU, ~390 ms bundled.
//
// esbuild is a devDependency (tsx brings the same one). Without it (a production-only install
// that builds) the build still succeeds and everything starts from the compiled modules.
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const shardThread = { entry: 'dist/run/shard-thread.js', outfile: 'dist/run/shard-thread.bundle.mjs' };
const cli = { entry: 'dist/cli/main.js', outdir: 'dist/cli-bundle' };

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  await Promise.all([rm(shardThread.outfile, { force: true }), rm(cli.outdir, { recursive: true, force: true })]);
  console.warn('bundle: esbuild not found; shard threads and the CLI start from the compiled modules');
  process.exit(0);
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS packages inside an ES module bundle call require(): give them the module's own.
  banner: { js: "import { createRequire as __nightshiftRequire } from 'node:module'; const require = __nightshiftRequire(import.meta.url);" },
  // Error classes cross threads by name (core/errors.ts serializeError): keep every name as written.
  keepNames: true,
  logLevel: 'warning',
};

await esbuild.build({ ...common, entryPoints: [shardThread.entry], outfile: shardThread.outfile, external: ['onnxruntime-node'] });

await rm(cli.outdir, { recursive: true, force: true });
await esbuild.build({
  ...common,
  entryPoints: { main: cli.entry },
  outdir: cli.outdir,
  splitting: true,
  // Without comments and indentation the code V8 scans at start-up is a quarter smaller (and ASCII,
  // which it scans faster than the UTF-16 a single "→" in a comment makes of a whole chunk):
  // ~4 % fewer instructions for the worker's imports. Names stay (keepNames, no renaming).
  minifyWhitespace: true,
  // Native addons, and packages that start threads from files beside their own (pino's transports).
  external: ['onnxruntime-node', 'msgpackr-extract', 'pino', 'pino-pretty'],
  plugins: [withoutBullmqPostgres(), ownLocations(path.resolve(cli.outdir))],
});

/**
 * nightshift's queues are on Redis, but bullmq's index also loads its Postgres backend (~370 KB,
 * ~3 % of the instructions of the worker's imports). The bundle leaves it out: each of its exports
 * becomes a getter that throws, so code that starts to use one fails loudly, not with undefined.
 */
function withoutBullmqPostgres() {
  const index = /[\\/]node_modules[\\/]bullmq[\\/]dist[\\/]cjs[\\/]index\.js$/;
  const names = Object.keys(createRequire(import.meta.url)('bullmq/dist/cjs/postgres'));
  const getters = names.map(
    (n) =>
      `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get() { throw new Error('bullmq ${n}: the Postgres backend is not in nightshift\\'s bundle (scripts/bundle.mjs)'); } });`,
  );
  return {
    name: 'without-bullmq-postgres',
    setup(build) {
      build.onResolve({ filter: /^\.\/postgres$/ }, (args) => (index.test(args.importer) ? { path: 'bullmq-postgres', namespace: 'left-out' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: getters.join('\n'), loader: 'js' }));
    },
  };
}

/**
 * Each bundled module keeps its own location: `import.meta.url` reads as its file's URL, not the
 * chunk's, so paths beside it (the inference thread, package.json, dashboard assets, node-cron's
 * daemon) resolve as they do unbundled. And `requireCommonJs('pkg')` (core/commonjs.ts: require()
 * from ESM) becomes a plain require(), which esbuild bundles; externals stay runtime requires.
 */
function ownLocations(outdir) {
  return {
    name: 'own-locations',
    setup(build) {
      build.onLoad({ filter: /\.(m?js|cjs)$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url') && !text.includes('requireCommonJs(')) return undefined;
        const own = `new URL(${JSON.stringify(path.relative(outdir, args.path).split(path.sep).join('/'))}, import.meta.url).href`;
        const contents = text.replaceAll('import.meta.url', own).replace(/\brequireCommonJs\((['"][^'"]+['"])\)/g, 'require($1)');
        return { contents, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}
