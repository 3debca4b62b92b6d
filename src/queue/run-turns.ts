/**
 * At most one active attempt per run: the Redis half of the publication fence. An attempt takes
 * the run's turn when it starts planning and keeps it until it ends (succeeded, failed,
 * superseded); only the turn's holder may publish. Rules, each checked atomically in Redis:
 * - only the newest claimed attempt of a run may take a free turn: an older attempt that has not
 *   started when a newer one exists is superseded without running (reruns coalesce);
 * - a newer attempt waits while an older one holds the turn (a rerun waits for the active
 *   attempt; it never runs beside it);
 * - a holder that ended without releasing (killed between its last step and the release) is
 *   replaced only by compare-and-swap on its name.
 * The store's conditional writes fence the same publication again (run/publish.ts), for a
 * holder that paused past the moment it checked.
 */
import type { Redis } from 'ioredis';

export type TurnAnswer =
  { readonly kind: 'granted' } | { readonly kind: 'wait'; readonly holder: string } | { readonly kind: 'superseded'; readonly newest: string };

export class RunTurns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private turnKey(runId: string): string {
    return `${this.prefix}:turn:${runId}`;
  }
  /** The key that names the turn's holder, for a script that releases it with other changes (RunRegistry.cancel). */
  turnKeyOf(runId: string): string {
    return this.turnKey(runId);
  }
  /** The run's newest claimed attempt (kept by RunRegistry.claimAttempt). */
  private latestKey(runId: string): string {
    return `${this.prefix}:latest:${runId}`;
  }

  async take(runId: string, attempt: string): Promise<TurnAnswer> {
    const [kind, other] = (await this.redis.eval(
      `local cur = redis.call('GET', KEYS[1])
       if cur == ARGV[1] then return {'granted', ''} end
       local newest = redis.call('GET', KEYS[2])
       if newest and newest ~= ARGV[1] then return {'superseded', newest} end
       if cur then return {'wait', cur} end
       redis.call('SET', KEYS[1], ARGV[1])
       return {'granted', ''}`,
      2,
      this.turnKey(runId),
      this.latestKey(runId),
      attempt,
    )) as [string, string];
    if (kind === 'granted') return { kind };
    return kind === 'wait' ? { kind, holder: other } : { kind: 'superseded', newest: other };
  }

  /** Takes the turn from a holder known to have ended, only if it still holds it. */
  async replaceEnded(runId: string, ended: string): Promise<boolean> {
    const n = (await this.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0`,
      1,
      this.turnKey(runId),
      ended,
    )) as number;
    return n === 1;
  }

  async holds(runId: string, attempt: string): Promise<boolean> {
    return (await this.redis.get(this.turnKey(runId))) === attempt;
  }

  async holder(runId: string): Promise<string | undefined> {
    return (await this.redis.get(this.turnKey(runId))) ?? undefined;
  }

  async release(runId: string, attempt: string): Promise<void> {
    await this.replaceEnded(runId, attempt);
  }
}
