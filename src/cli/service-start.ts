/**
 * The start of a long-running command (serve, scheduler): SIGTERM/SIGINT stop it, and it waits
 * for Redis with backoff (logging each try) until Redis answers or it is told to stop.
 */
import type { Logger } from '../core/logger.js';
import { openQueueClient, type QueueClient } from '../queue/queue-client.js';

export interface Service {
  readonly client: QueueClient;
  /** Aborted by SIGTERM or SIGINT. */
  readonly stopping: AbortSignal;
  /** Resolves when the service is told to stop. */
  stopped(): Promise<void>;
}

/** Undefined when the service was stopped while waiting for Redis (exit 0). */
export async function startService(log: Logger): Promise<Service | undefined> {
  const stopping = new AbortController();
  const stop = (): void => stopping.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const client = await openQueueClient({ service: { log, signal: stopping.signal } });
    const stopped = (): Promise<void> =>
      stopping.signal.aborted ? Promise.resolve() : new Promise((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
    return { client, stopping: stopping.signal, stopped };
  } catch (err) {
    if (stopping.signal.aborted) return undefined;
    throw err;
  }
}
