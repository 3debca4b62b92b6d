/**
 * The one way nightshift starts a worker thread (shard threads of `score`, inference threads of
 * workers). From TypeScript sources (tests, tsx) the thread starts in thread-entry.dev.mjs,
 * which registers tsx first — its loader is not active in worker threads on Node 20 — and then
 * imports the module; from the build, the compiled module starts directly. Errors cross the
 * boundary as serializeError/reviveError (core/errors.ts), keeping their class.
 */
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const devEntry = new URL('./thread-entry.dev.mjs', import.meta.url);

/** `module` is the thread's own module URL, as `new URL('./x.js', import.meta.url)` gives it. */
export function startThread(module: URL, options: Omit<WorkerOptions, 'argv'> = {}): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(module, options);
  const source = fileURLToPath(module).replace(/\.js$/, '.ts');
  return new Worker(devEntry, { ...options, argv: [source] });
}
