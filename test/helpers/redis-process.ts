/**
 * Spare redis-server processes on a chosen port (so a test can crash one and start it again on
 * the same port), optionally with a password, and one-shot `nightshift` CLI processes.
 */
import { spawn } from 'node:child_process';
import { ChildHandle, REPO_ROOT } from './workers.js';

export { startRedisOn, type RedisProcess } from './workers.js';

export interface CliResult {
  readonly code: number | null;
  /** stdout and stderr together. */
  readonly output: string;
  readonly ms: number;
}

/** `node --import tsx src/cli/main.ts …args` in the repo with `env` added; resolves on exit. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The CLI is not a test file: keep node:test's child marker out of its environment.
  delete childEnv.NODE_TEST_CONTEXT;
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = new ChildHandle(`nightshift ${args[0] ?? ''}`, child);
  try {
    const exit = await handle.waitForExit(timeoutMs);
    return { code: exit.code, output: handle.output, ms: Date.now() - started };
  } finally {
    await handle.kill();
  }
}
