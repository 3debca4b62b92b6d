// Development entry for shard threads when nightshift runs from TypeScript sources (tests, tsx):
// tsx's loader is not active in worker threads on Node 20, so register it here first.
import { register } from 'tsx/esm/api';

register();
await import('./shard-thread.ts');
