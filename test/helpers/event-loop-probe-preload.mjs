// Loaded with `node --import` (after tsx) into a process under test: reports its event-loop
// stalls on stderr (see event-loop-probe.ts). Worker threads inherit the flag, but tsx is not
// active in them on Node 20 and they do not hold the event loop measured here: only the main
// thread starts the probe.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const { EventLoopProbe, stallLine } = await import('./event-loop-probe.ts');
  new EventLoopProbe((s) => process.stderr.write(`${stallLine(s)}\n`)).start();
}
