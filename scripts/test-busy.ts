/**
 * `npm run test:busy`: the suite's timing-sensitive test files (locks, stalls, faults, schedules,
 * timeouts) while two CPU-burning processes keep both cores of a small machine busy, as on a
 * shared CI host. Exits with the tests' exit code; the burners are killed however it ends.
 *
 *   npm run test:busy                      the default files below
 *   npm run test:busy -- test/x.test.ts    other files
 *   BURNERS=4 npm run test:busy            more load
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

const TIMING_SENSITIVE = [
  'test/faults-lock.test.ts',
  'test/faults-redis.test.ts',
  'test/faults-s3.test.ts',
  'test/worker-faults.test.ts',
  'test/distributed.test.ts',
  'test/scheduler.test.ts',
  'test/scheduler-e2e.test.ts',
  'test/http.test.ts',
];

const args = process.argv.slice(2);
const files = args.length > 0 ? args : TIMING_SENSITIVE.filter((f) => existsSync(f));
const burnerCount = Number(process.env.BURNERS ?? 2);

// A busy loop that never yields: one full core each, at the default priority.
const burners: ChildProcess[] = Array.from({ length: burnerCount }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopBurners = (): void => {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
};
process.once('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    stopBurners();
    process.kill(process.pid, sig);
  });
}

process.stdout.write(`test:busy: ${burners.length} CPU burners (pids ${burners.map((b) => b.pid).join(', ')}) beside ${files.join(' ')}\n`);
const tests = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
tests.once('exit', (code, signal) => {
  stopBurners();
  process.exitCode = code ?? (signal ? 1 : 0);
});
