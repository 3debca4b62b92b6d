/**
 * What `nightshift runs` shows: one Redis hash per run attempt, plus an index by trigger time.
 * BullMQ keeps the jobs; this keeps the run-level view (status, progress, rows) in one place.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DEFAULT_RETENTION } from './retention.js';
import { RunTurns } from './run-turns.js';

/**
 * held: scored and reported, waiting for `nightshift approve` / `reject` (monitor.onDrift: hold).
 * superseded: a newer attempt of the run published (or was claimed) first; this one published nothing.
 */
export type RunState = 'queued' | 'planning' | 'running' | 'finalizing' | 'succeeded' | 'failed' | 'skipped' | 'held' | 'cancelled' | 'superseded';

/** States a run never leaves: its record starts to age out (see retention.ts). A held run is waiting for a person. */
export const FINAL_STATES: readonly RunState[] = ['succeeded', 'failed', 'skipped', 'cancelled', 'superseded'];

export interface RunRecord {
  runId: string;
  attempt: string;
  job: string;
  logicalDate: string;
  status: RunState;
  triggeredAt: string;
  trigger: string;
  startedAt?: string;
  finishedAt?: string;
  shards?: number;
  shardsDone?: number;
  rowsRead?: number;
  rowsScored?: number;
  rowsRejected?: number;
  reason?: string;
  output?: string;
  /** A superseded attempt's successor, which a caller waiting on this attempt follows. */
  supersededBy?: string;
  /** Who cancelled the attempt (`nightshift cancel --by`, POST /runs/:id/cancel {by}). */
  cancelledBy?: string;
  /** Champion/challenger: the report's comparison in one line (model.challenger). */
  challenger?: string;
}

const ACTIVE: readonly RunState[] = ['queued', 'planning', 'running', 'finalizing'];

export function isActiveState(s: RunState): boolean {
  return ACTIVE.includes(s);
}

export class RunRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a finished run's record is kept. */
    private readonly keepMs: number = DEFAULT_RETENTION.runRecordMs,
  ) {}

  /** Which attempt of each run holds it (keys under the same prefix). */
  turns(): RunTurns {
    return new RunTurns(this.redis, this.prefix);
  }

  /** The attempt that holds the run (planning, running or finalizing), if any. */
  async activeAttempt(runId: string): Promise<RunRecord | undefined> {
    const holder = await this.turns().holder(runId);
    const rec = holder ? await this.get(runId, holder) : undefined;
    return rec && isActiveState(rec.status) ? rec : undefined;
  }

  /** The connection, for run-level keys kept next to the records (last success per job). */
  get redisClient(): Redis {
    return this.redis;
  }

  private key(runId: string, attempt: string): string {
    return `${this.prefix}:run:${runId}#${attempt}`;
  }
  private get index(): string {
    return `${this.prefix}:runs`;
  }
  private attemptsKey(runId: string): string {
    return `${this.prefix}:attempts:${runId}`;
  }

  private latestKey(runId: string): string {
    return `${this.prefix}:latest:${runId}`;
  }

  /**
   * Claims an attempt for a run, atomically: the first trigger creates attempt 1; a plain trigger
   * of an existing run returns the latest attempt (nothing new); a rerun always creates the next.
   * `floor` is the lowest number the new attempt may take (see worker/process-plan.ts: an attempt
   * renumbered after one that `score` published or that outlived the run's Redis counter).
   */
  async claimAttempt(runId: string, rerun: boolean, floor = 1): Promise<{ attempt: string; created: boolean; previous?: string }> {
    const reply = (await this.redis.eval(
      `local cur = redis.call('GET', KEYS[2])
       if ARGV[1] == '0' and cur then return {cur, 0, ''} end
       local n = redis.call('INCR', KEYS[1])
       if n < tonumber(ARGV[3]) then
         n = tonumber(ARGV[3])
         redis.call('SET', KEYS[1], n)
       end
       redis.call('PERSIST', KEYS[1])
       local name = 'a' .. n .. '-' .. ARGV[2]
       redis.call('SET', KEYS[2], name)
       return {name, 1, cur or ''}`,
      2,
      this.attemptsKey(runId),
      this.latestKey(runId),
      rerun ? '1' : '0',
      randomBytes(2).toString('hex'),
      String(floor),
    )) as [string, number, string];
    return { attempt: reply[0], created: reply[1] === 1, ...(reply[2] ? { previous: reply[2] } : {}) };
  }

  async create(rec: RunRecord): Promise<void> {
    const m = this.redis
      .multi()
      .hset(this.key(rec.runId, rec.attempt), flatten(rec))
      .zadd(this.index, Date.parse(rec.triggeredAt), `${rec.runId}#${rec.attempt}`);
    if (FINAL_STATES.includes(rec.status)) this.ageOut(m, rec.runId, rec.attempt);
    await m.exec();
  }

  /**
   * Sets fields of an attempt's record. A cancelled record is never changed again (a step that
   * was running when the attempt was cancelled must not bring it back): false then.
   */
  async update(runId: string, attempt: string, fields: Partial<RunRecord>): Promise<boolean> {
    const args = Object.entries(flatten(fields)).flat();
    if (args.length === 0) return true;
    const applied = (await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'status') == 'cancelled' then return 0 end
       redis.call('HSET', KEYS[1], unpack(ARGV))
       return 1`,
      1,
      this.key(runId, attempt),
      ...args,
    )) as number;
    if (applied !== 1) return false;
    if (fields.status !== undefined && FINAL_STATES.includes(fields.status)) {
      const m = this.redis.multi();
      this.ageOut(m, runId, attempt);
      await m.exec();
    }
    return true;
  }

  /**
   * Cancels an attempt if its status is one of `from`, atomically with releasing the run's turn
   * when the attempt holds it (a waiting rerun may start at once). Answers the status found.
   */
  async cancel(
    runId: string,
    attempt: string,
    from: readonly RunState[],
    fields: { by: string; reason: string; finishedAt: string },
  ): Promise<{ cancelled: boolean; status: RunState | undefined }> {
    const [done, status] = (await this.redis.eval(
      `local s = redis.call('HGET', KEYS[1], 'status')
       if not s then return {0, ''} end
       for i = 5, #ARGV do
         if ARGV[i] == s then
           redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledBy', ARGV[2], 'reason', ARGV[3], 'finishedAt', ARGV[4])
           if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
           return {1, s}
         end
       end
       return {0, s}`,
      2,
      this.key(runId, attempt),
      this.turns().turnKeyOf(runId),
      attempt,
      fields.by,
      fields.reason,
      fields.finishedAt,
      ...from,
    )) as [number, string];
    if (done === 1) {
      const m = this.redis.multi();
      this.ageOut(m, runId, attempt);
      await m.exec();
    }
    return { cancelled: done === 1, status: status === '' ? undefined : (status as RunState) };
  }

  /**
   * A finished attempt's record expires `keepMs` from now, with the run's attempt counter and
   * latest pointer (a later attempt renews them); index entries triggered before the retention
   * window are trimmed at the same time, so no sweeper is needed for run records.
   */
  private ageOut(m: ReturnType<Redis['multi']>, runId: string, attempt: string): void {
    m.pexpire(this.key(runId, attempt), this.keepMs)
      .pexpire(this.attemptsKey(runId), this.keepMs)
      .pexpire(this.latestKey(runId), this.keepMs)
      .zremrangebyscore(this.index, '-inf', `(${Date.now() - this.keepMs}`);
  }

  /** Index entries of runs triggered before the retention window (their records have expired). */
  async trimIndex(): Promise<number> {
    return this.redis.zremrangebyscore(this.index, '-inf', `(${Date.now() - this.keepMs}`);
  }

  /** Rows read so far by one shard; set (not added) so a retried shard is not counted twice. */
  async shardProgress(runId: string, attempt: string, shard: string, rows: number): Promise<void> {
    await this.redis.hset(this.key(runId, attempt), `rows:${shard}`, String(rows));
  }

  /** Whether the attempt was cancelled: steps ask before and while they work (queue/cancel-run.ts). */
  async isCancelled(runId: string, attempt: string): Promise<boolean> {
    return (await this.redis.hget(this.key(runId, attempt), 'status')) === 'cancelled';
  }

  async shardDone(runId: string, attempt: string, shard: string): Promise<void> {
    await this.redis.hset(this.key(runId, attempt), `done:${shard}`, '1');
  }

  async get(runId: string, attempt?: string): Promise<RunRecord | undefined> {
    const a = attempt ?? (await this.redis.get(this.latestKey(runId)));
    if (!a) return undefined;
    const h = await this.redis.hgetall(this.key(runId, a));
    return Object.keys(h).length === 0 ? undefined : unflatten(h);
  }

  async list(limit = 50, job?: string): Promise<RunRecord[]> {
    const members = await this.redis.zrevrange(this.index, 0, job ? limit * 20 : limit - 1);
    const out: RunRecord[] = [];
    for (const m of members) {
      const h = await this.redis.hgetall(`${this.prefix}:run:${m}`);
      if (Object.keys(h).length === 0) continue;
      const rec = unflatten(h);
      if (!job || rec.job === job) out.push(rec);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Every attempt in the index, newest trigger first, from the index alone (no record is read):
   * what the dashboard's grid lays out before it reads the records of one page.
   */
  async indexed(): Promise<{ runId: string; attempt: string; triggeredAt: number }[]> {
    const flat = await this.redis.zrevrange(this.index, 0, -1, 'WITHSCORES');
    const out: { runId: string; attempt: string; triggeredAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const member = flat[i] as string;
      const hash = member.lastIndexOf('#');
      if (hash > 0) out.push({ runId: member.slice(0, hash), attempt: member.slice(hash + 1), triggeredAt: Number(flat[i + 1]) });
    }
    return out;
  }

  /** The records of many attempts in one round trip (undefined where a record has expired). */
  async getMany(attempts: readonly { runId: string; attempt: string }[]): Promise<(RunRecord | undefined)[]> {
    if (attempts.length === 0) return [];
    const p = this.redis.pipeline();
    for (const a of attempts) p.hgetall(this.key(a.runId, a.attempt));
    const replies = (await p.exec()) ?? [];
    return replies.map(([err, h]) => {
      if (err) throw err;
      const hash = h as Record<string, string>;
      return Object.keys(hash).length === 0 ? undefined : unflatten(hash);
    });
  }

  /** Active attempts of a job (for overlap rules). */
  async active(job: string): Promise<RunRecord[]> {
    return (await this.list(200, job)).filter((r) => ACTIVE.includes(r.status));
  }
}

function flatten(rec: Partial<RunRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec)) if (v !== undefined) out[k] = String(v);
  return out;
}

function unflatten(h: Record<string, string>): RunRecord {
  let rowsRead = 0;
  let shardsDone = 0;
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('rows:')) rowsRead += Number(v);
    if (k.startsWith('done:')) shardsDone++;
  }
  const num = (k: string): number | undefined => (h[k] === undefined ? undefined : Number(h[k]));
  const rec: RunRecord = {
    runId: h.runId ?? '',
    attempt: h.attempt ?? '',
    job: h.job ?? '',
    logicalDate: h.logicalDate ?? '',
    status: (h.status ?? 'queued') as RunState,
    triggeredAt: h.triggeredAt ?? '',
    trigger: h.trigger ?? 'manual',
    rowsRead: num('rowsRead') ?? rowsRead,
    shardsDone: num('shardsDone') ?? shardsDone,
  };
  for (const k of ['startedAt', 'finishedAt', 'reason', 'output', 'supersededBy', 'cancelledBy', 'challenger'] as const) if (h[k] !== undefined) rec[k] = h[k];
  for (const k of ['shards', 'rowsScored', 'rowsRejected'] as const) if (h[k] !== undefined) rec[k] = Number(h[k]);
  return rec;
}

/** After approve/reject of a held run: its record (if this Redis has one) follows the report. */
export async function recordDecision(
  registry: RunRegistry,
  run: { runId: string; attempt: string; status: 'succeeded' | 'failed' | 'held' | 'cancelled'; reason?: string | undefined },
): Promise<void> {
  if (!(await registry.get(run.runId, run.attempt))) return;
  await registry.update(run.runId, run.attempt, { status: run.status === 'succeeded' ? 'succeeded' : 'failed', ...(run.reason ? { reason: run.reason } : {}) });
}
