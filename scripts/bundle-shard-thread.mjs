// Build step after tsc (npm run build, prepare): bundles the compiled shard thread of
// `score --threads` (dist/run/shard-thread.js and the packages it imports) into one module,
// dist/run/shard-thread.bundle.mjs, which run/shard-threads.ts starts when it exists.
//
// Why: every shard thread imports its modules again. As ~150 separate ES modules (zod alone is
// dozens), that took ~125 ms of the thread's CPU before it could score (median of 7 fresh
// threads, load 7); as one module, ~72 ms. onnxruntime-node stays outside (a native addon).
//
// esbuild is a devDependency (tsx brings the same one). Without it (a production-only install
// that builds) the build still succeeds and the threads start from dist/run/shard-thread.js.
import { rm } from 'node:fs/promises';

const entry = 'dist/run/shard-thread.js';
const outfile = 'dist/run/shard-thread.bundle.mjs';

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  await rm(outfile, { force: true });
  console.warn(`bundle-shard-thread: esbuild not found; shard threads start from ${entry}`);
  process.exit(0);
}
await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['onnxruntime-node'],
  // CommonJS packages inside an ES module bundle call require(): give them the module's own.
  banner: { js: "import { createRequire as __nightshiftRequire } from 'node:module'; const require = __nightshiftRequire(import.meta.url);" },
  // Error classes cross the thread by name (core/errors.ts serializeError): keep every name as written.
  keepNames: true,
  logLevel: 'warning',
});
