/** The producer side of the queue for CLI and HTTP: fail-fast Redis, the runs queue, the registry. */
import { Queue } from './bullmq.js';
import { RUNS_QUEUE } from './names.js';
import { createRedis, redactUrl, redisSettingsFromEnv } from './redis-config.js';
import { RunRegistry } from './run-registry.js';
import { TransientError } from '../core/errors.js';
import type { Redis } from 'ioredis';

export interface QueueClient {
  readonly runs: Queue;
  readonly registry: RunRegistry;
  readonly redis: Redis;
  /** The key prefix the queues and registry use. */
  readonly prefix: string;
  close(): Promise<void>;
}

export async function openQueueClient(): Promise<QueueClient> {
  const settings = redisSettingsFromEnv();
  const redis = createRedis(settings, 'producer');
  // Surfaced by the ping below, with a clear message. connect() itself only says "Connection is
  // closed"; the cause (ECONNREFUSED, ENOTFOUND, WRONGPASS…) comes as an 'error' event.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const why = cause && cause !== err ? `${cause.message} (${(err as Error).message})` : (err as Error).message;
    throw new TransientError(`cannot reach Redis at ${redactUrl(settings.url)}: ${why}`, { cause: err });
  }
  const runs = new Queue(RUNS_QUEUE, { connection: redis, prefix: settings.prefix });
  return {
    runs,
    registry: new RunRegistry(redis, settings.prefix),
    redis,
    prefix: settings.prefix,
    close: async () => {
      await runs.close();
      redis.disconnect();
    },
  };
}
