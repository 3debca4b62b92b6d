/** Whether the module at `moduleUrl` is the program being run (not imported), links resolved. */
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function isMain(moduleUrl: string): Promise<boolean> {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return (await realpath(arg)) === (await realpath(fileURLToPath(moduleUrl)));
  } catch {
    return false;
  }
}
