/**
 * BullMQ loses jobs silently if Redis evicts keys; its own check only warns. Workers refuse to
 * start unless maxmemory-policy is noeviction (when the server lets us read it).
 */
import type { Redis } from 'ioredis';
import { RedisPolicyError } from '../core/errors.js';

export async function checkEvictionPolicy(redis: Redis): Promise<'noeviction' | 'unknown'> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch {
    // Managed Redis often forbids CONFIG; then the operator's word is all we have.
    return 'unknown';
  }
  const policy = Array.isArray(reply) ? String(reply[1] ?? '') : '';
  if (policy === '') return 'unknown';
  if (policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; nightshift needs "noeviction" so queued runs are never evicted. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf)`,
    );
  }
  return 'noeviction';
}
