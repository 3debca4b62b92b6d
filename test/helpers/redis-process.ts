/**
 * Spare redis-server processes on a chosen port (so a test can crash one and start it again on
 * the same port), optionally with a password, and one-shot `nightshift` CLI processes.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { ChildHandle, REPO_ROOT, waitFor } from './workers.js';

export interface RedisProcess {
  /** redis://127.0.0.1:<port>, without the password. */
  readonly url: string;
  readonly handle: ChildHandle;
}

/** redis-server on `port` without RDB snapshots; `args` add settings. The caller kills it. */
export async function startRedisOn(port: number, args: readonly string[], password?: string): Promise<RedisProcess> {
  const auth = password === undefined ? [] : ['--requirepass', password];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...auth, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = new ChildHandle(`redis-server :${port}`, child);
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(`redis-server on port ${port}`, async () => {
    if (!handle.running) throw new Error(`redis-server exited: ${handle.output}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(password === undefined ? {} : { password }) });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' ? true : undefined;
    } catch {
      return undefined;
    } finally {
      probe.disconnect();
    }
  }, { timeoutMs: 10_000 });
  return { url, handle };
}

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
