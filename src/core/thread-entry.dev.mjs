// Development entry of every worker thread when nightshift runs from TypeScript sources (tests,
// tsx): tsx's loader is not active in worker threads on Node 20, so register it here, then
// import the thread's module (its path is the last argument; see threads.ts).
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
await import(pathToFileURL(process.argv[process.argv.length - 1]).href);
