/** Listening on a port, with the failures an operator causes (port in use, no permission) as settings to fix. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { ConfigError } from '../core/errors.js';

export async function listenOn(server: Server, port: number, host: string, what: string): Promise<string> {
  server.listen(port, host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new ConfigError(`${what} port ${port} on ${host} is already in use`);
    if (code === 'EACCES') throw new ConfigError(`${what} port ${port} on ${host}: permission denied`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ConfigError(`${what} host "${host}" is not an address of this machine`);
    throw err;
  }
  const addr = server.address();
  return typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr);
}

/** A port from a flag or the environment: 0-65535, or a ConfigError quoting what was given. */
export function parsePort(value: string | undefined, fallback: number | undefined, flag: string): number | undefined {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new ConfigError(`${flag}: expected a port 0-65535, found "${value}"`);
  return port;
}
