/**
 * Redis settings from the environment, validated once. The URL may carry a password: it is
 * only handed to ioredis, never logged or put into job data or errors (see redactUrl).
 */
import { Redis } from './bullmq.js';
import { z } from 'zod';

const envSchema = z.object({
  NIGHTSHIFT_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://… or rediss://…').default('redis://127.0.0.1:6379'),
  /** Key prefix for every queue; wrap in {braces} to keep all keys in one Redis Cluster slot. */
  NIGHTSHIFT_REDIS_PREFIX: z.string().min(1).default('nightshift'),
  NIGHTSHIFT_REDIS_USERNAME: z.string().optional(),
  NIGHTSHIFT_REDIS_PASSWORD: z.string().optional(),
});

export interface RedisSettings {
  readonly url: string;
  readonly prefix: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export function redisSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid Redis settings in the environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return { url: e.NIGHTSHIFT_REDIS_URL, prefix: e.NIGHTSHIFT_REDIS_PREFIX, username: e.NIGHTSHIFT_REDIS_USERNAME, password: e.NIGHTSHIFT_REDIS_PASSWORD };
}

/**
 * Workers wait for Redis to come back (BullMQ requires maxRetriesPerRequest: null);
 * producers (trigger, HTTP) fail fast so a person sees the outage at once.
 */
export function createRedis(settings: RedisSettings, role: 'worker' | 'producer'): Redis {
  const options = {
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    ...(settings.url.startsWith('rediss://') ? { tls: {} } : {}),
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
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
  return new Redis(settings.url, options);
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
