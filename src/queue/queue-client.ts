/**
 * The producer side of the queue for CLI and HTTP: the runs queue and the registry on one Redis
 * connection. One-shot commands (trigger, runs) fail fast when Redis is down; long-running ones
 * (serve, scheduler) pass `service` and wait for Redis with backoff, then ride out restarts.
 */
import { Queue } from './bullmq.js';
import { RUNS_QUEUE } from './names.js';
import { checkClusterMode, connectWithBackoff, createRedis, isAuthError, redactUrl, redisSettingsFromEnv } from './redis-config.js';
import { RunRegistry } from './run-registry.js';
import { jobRetentionOptions, queueRetentionOptions, retentionFromEnv } from './retention.js';
import { ConfigError, TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Redis } from 'ioredis';

export interface QueueClient {
  readonly runs: Queue;
  readonly registry: RunRegistry;
  readonly redis: Redis;
  /** The key prefix the queues and registry use. */
  readonly prefix: string;
  close(): Promise<void>;
}

export async function openQueueClient(options: { service?: { log: Logger; signal?: AbortSignal } } = {}): Promise<QueueClient> {
  const settings = redisSettingsFromEnv();
  retentionFromEnv(); // malformed settings fail before any connection is made
  const redis = options.service ? createRedis(settings, 'service') : await connectProducer(settings);
  if (options.service) await connectWithBackoff(redis, settings, options.service.log, options.service.signal);
  try {
    await checkClusterMode(redis, settings);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const retention = retentionFromEnv();
  // Plan jobs get their retention from here; the worker sets it on the shard and finalize jobs it adds.
  const runs = new Queue(RUNS_QUEUE, {
    connection: redis,
    prefix: settings.prefix,
    defaultJobOptions: jobRetentionOptions(retention),
    ...queueRetentionOptions(retention),
  });
  // BullMQ re-emits the connection's errors on the queue; connectWithBackoff already logs them.
  runs.on('error', () => undefined);
  return {
    runs,
    registry: new RunRegistry(redis, settings.prefix, retention.runRecordMs),
    redis,
    prefix: settings.prefix,
    close: async () => {
      await runs.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

async function connectProducer(settings: ReturnType<typeof redisSettingsFromEnv>): Promise<Redis> {
  const redis = createRedis(settings, 'producer');
  // Surfaced by the ping below, with a clear message. connect() itself only says "Connection is
  // closed"; the cause (ECONNREFUSED, ENOTFOUND, WRONGPASS…) comes as an 'error' event.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    const why = cause && cause !== err ? `${cause.message} (${(err as Error).message})` : (err as Error).message;
    if (isAuthError(cause) || isAuthError(err))
      throw new ConfigError(
        `Redis at ${redactUrl(settings.url)} refused the credentials: ${why.split('.')[0]}; set NIGHTSHIFT_REDIS_PASSWORD or put it in NIGHTSHIFT_REDIS_URL`,
        { cause: err },
      );
    throw new TransientError(`cannot reach Redis at ${redactUrl(settings.url)}: ${why}`, { cause: err });
  }
}
