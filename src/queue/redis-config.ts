/**
 * Redis settings from the environment, validated once. The URL may carry a password: it is
 * only handed to ioredis, never logged or put into job data or errors (see redactUrl).
 */
import { Cluster, Redis } from './bullmq.js';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

const envSchema = z.object({
  NIGHTSHIFT_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected redis://… or rediss://…')
    .default('redis://127.0.0.1:6379'),
  /** Key prefix for every queue; wrap in {braces} to keep all keys in one Redis Cluster slot. */
  NIGHTSHIFT_REDIS_PREFIX: z.string().min(1).default('nightshift'),
  NIGHTSHIFT_REDIS_USERNAME: z.string().optional(),
  NIGHTSHIFT_REDIS_PASSWORD: z.string().optional(),
  /** The URL names one node of a Redis Cluster (the others are discovered). */
  NIGHTSHIFT_REDIS_CLUSTER: z.enum(['true', 'false']).default('false'),
});

export interface RedisSettings {
  readonly url: string;
  readonly prefix: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Connect as a Redis Cluster client (the prefix then has a {hash tag}: checked). */
  readonly cluster: boolean;
}

export function redisSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid Redis settings in the environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  checkRedisUrl(e.NIGHTSHIFT_REDIS_URL);
  const cluster = e.NIGHTSHIFT_REDIS_CLUSTER === 'true';
  if (cluster) checkClusterPrefix(e.NIGHTSHIFT_REDIS_PREFIX);
  return {
    url: e.NIGHTSHIFT_REDIS_URL,
    prefix: e.NIGHTSHIFT_REDIS_PREFIX,
    username: e.NIGHTSHIFT_REDIS_USERNAME,
    password: e.NIGHTSHIFT_REDIS_PASSWORD,
    cluster,
  };
}

/** The hash tag of a key prefix ({nightshift} → nightshift), which decides its Cluster slot. */
export function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/**
 * On a Redis Cluster every key nightshift and BullMQ use must live in one hash slot: their
 * scripts and transactions touch several keys at once (a run's turn and latest attempt, a flow's
 * parent in the runs queue and children in the shards queue). A {hash tag} at the start of the
 * prefix does that; without one the first multi-key step would fail with CROSSSLOT mid-run.
 */
export function checkClusterPrefix(prefix: string): void {
  if (hashTag(prefix) === undefined || !prefix.startsWith('{')) {
    throw new ConfigError(
      `NIGHTSHIFT_REDIS_PREFIX "${prefix}" has no {hash tag} at its start: on a Redis Cluster use e.g. "{${prefix.replace(/[{}]/g, '') || 'nightshift'}}" so every queue and run key shares one slot`,
    );
  }
}

/**
 * A node that says it is part of a cluster, reached without NIGHTSHIFT_REDIS_CLUSTER: it would
 * answer MOVED for most keys. Said once at start-up as a setting to fix (exit 2).
 */
export async function checkClusterMode(redis: Redis, settings: RedisSettings): Promise<void> {
  if (settings.cluster) return;
  let info = '';
  try {
    info = await redis.info('cluster');
  } catch {
    return; // INFO refused (ACL): nothing to say
  }
  if (/cluster_enabled:1/.test(info)) {
    throw new ConfigError(
      `Redis at ${redactUrl(settings.url)} is a Redis Cluster node: set NIGHTSHIFT_REDIS_CLUSTER=true and a prefix with a {hash tag} (NIGHTSHIFT_REDIS_PREFIX={nightshift})`,
    );
  }
}

/**
 * A URL ioredis would misread (it falls back to localhost on garbage) is refused up front, with
 * the redacted URL and what is wrong, as a setting to fix (exit 2).
 */
function checkRedisUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`NIGHTSHIFT_REDIS_URL is not a valid URL: ${redactUrl(url)}`);
  }
  if (u.hostname === '') throw new ConfigError(`NIGHTSHIFT_REDIS_URL has no host: ${redactUrl(url)}`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError(`NIGHTSHIFT_REDIS_URL: the path must be a database number, found "/${db}" in ${redactUrl(url)}`);
}

/** Reconnect delays: 100 ms doubling to 5 s, forever (long-running processes outlive outages). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 10), 5_000);
}

/**
 * Connection roles:
 * - worker: waits for Redis to come back (BullMQ requires maxRetriesPerRequest: null);
 * - service (serve, scheduler): reconnects forever too, but a command issued while Redis is
 *   down fails at once (an HTTP request answers 503 instead of hanging); the scheduler retries
 *   its ticks itself;
 * - producer (trigger, runs): fails fast so a person sees the outage at once.
 */
export function createRedis(settings: RedisSettings, role: 'worker' | 'service' | 'producer'): Redis {
  const options = {
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    ...(settings.url.startsWith('rediss://') ? { tls: {} } : {}),
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: reconnectDelayMs, lazyConnect: true }
      : role === 'service'
        ? {
            maxRetriesPerRequest: 1,
            enableOfflineQueue: false,
            enableReadyCheck: true,
            retryStrategy: reconnectDelayMs,
            lazyConnect: true,
            connectTimeout: 3_000,
          }
        : {
            maxRetriesPerRequest: 1,
            enableOfflineQueue: false,
            lazyConnect: true,
            connectTimeout: 3_000,
            retryStrategy: (n: number) => (n > 2 ? null : 200),
            // disconnect() after a failed connect waits this long (default 2 s) for a socket that
            // is already closed, keeping a CLI that should fail fast alive for nothing.
            disconnectTimeout: 200,
          }),
  };
  if (!settings.cluster) return new Redis(settings.url, options);
  // ioredis's Cluster has the same command API; BullMQ takes either. Typed as Redis so the rest
  // of the code has one connection type (every key it uses shares the prefix's slot).
  const u = new URL(settings.url);
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...redisOptions } = options as typeof options & {
    retryStrategy?: (n: number) => number | null;
    enableOfflineQueue?: boolean;
  };
  const cluster = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions,
    clusterRetryStrategy: retryStrategy ?? reconnectDelayMs,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    lazyConnect,
    enableReadyCheck: true,
  });
  return cluster as unknown as Redis;
}

/**
 * redis://user:secret@host → redis://user:***@host, for messages. Everything up to the last "@"
 * goes: URL parsers (and ioredis) split there, so a password may hold a raw "@" or "/"; a user
 * without ":" may itself be the secret, so it goes too.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)(.*)@/is, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** Redis answered, but refused us: a password missing or wrong. Waiting will not fix it. */
export function isAuthError(err: unknown): boolean {
  return err instanceof Error && /^(NOAUTH|WRONGPASS|ERR AUTH|ERR invalid password|WRONGPASS)/i.test(err.message);
}

/**
 * Connects a long-running process's client (created with lazyConnect), waiting with backoff for
 * Redis to come up and logging each failed attempt; a refused password is a setting to fix
 * (ConfigError, exit 2), not something to wait for. Later outages are logged as one line each
 * (lost, back) by the listeners installed here.
 */
export async function connectWithBackoff(redis: Redis, settings: RedisSettings, log: Logger, signal?: AbortSignal): Promise<void> {
  const where = redactUrl(settings.url);
  let attempt = 0;
  let fatal: Error | undefined;
  let ready = false;
  let down = false;
  redis.on('error', (err: Error) => {
    if (isAuthError(err)) {
      fatal ??= err;
      return;
    }
    if (!ready) log.warn({ err, redis: where, attempt: ++attempt, retryInMs: reconnectDelayMs(attempt) }, `waiting for Redis at ${where}`);
    else lost(err);
  });
  // 'reconnecting' as well as 'error': a Redis that restarts within the first reconnect delay never
  // refuses a connection, so no 'error' event would say it was gone. (A quit() never reconnects.)
  const lost = (err?: Error): void => {
    if (!ready || down) return;
    down = true;
    log.error({ err, redis: where }, 'Redis connection lost; reconnecting');
  };
  redis.on('reconnecting', () => lost());
  redis.on('ready', () => {
    if (ready && down) log.info({ redis: where }, 'Redis connection back');
    down = false;
  });
  const connected = new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (fatal)
        done(
          new ConfigError(
            `Redis at ${where} refused the credentials: ${fatal.message.split('.')[0]}; set NIGHTSHIFT_REDIS_PASSWORD (and NIGHTSHIFT_REDIS_USERNAME for an ACL user) or put them in NIGHTSHIFT_REDIS_URL`,
          ),
        );
      else if (signal?.aborted) done(new Error('stopped while waiting for Redis'));
    }, 50);
    const onReady = (): void => done();
    const done = (err?: Error): void => {
      clearInterval(check);
      redis.off('ready', onReady);
      if (err) reject(err);
      else resolve();
    };
    redis.once('ready', onReady);
  });
  redis.connect().catch(() => undefined); // failures arrive as 'error' events and retries
  try {
    await connected;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  ready = true;
  if (attempt > 0) log.info({ redis: where }, `Redis at ${where} is up`);
}
