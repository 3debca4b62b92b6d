/**
 * Whether this worker process can do its work with its own configuration. A worker that meets an
 * AccessError (credentials refused, a path this machine lacks) is not ready: it takes no jobs
 * and probes what failed every `selfCheckMs` until it works again. Every worker publishes its
 * state in one Redis hash (`<prefix>:workers`, a field per worker, refreshed by a heartbeat), so
 * a worker about to hand a job back can tell whether any other worker could take it.
 */
import { hostname } from 'node:os';
import type { Redis } from '../queue/bullmq.js';
import type { AccessError } from '../core/errors.js';

export interface ReadinessState {
  readonly ready: boolean;
  /** Why not, when not ready (an error message; never credentials). */
  readonly reason?: string;
  /** When the state last changed (ISO time). */
  readonly since: string;
}

export interface ReadinessOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly id: string;
  readonly selfCheckMs: number;
  readonly heartbeatMs?: number;
  readonly log: (line: string) => void;
  /** Undefined when `uri` is reachable with this process's configuration, else why not. */
  readonly probe: (uri: string) => Promise<string | undefined>;
  /** Stop (false) or resume (true) taking jobs. */
  readonly onChange: (ready: boolean) => Promise<void>;
}

interface Published {
  readonly ready: boolean;
  readonly at: number;
}

export function workersKey(prefix: string): string {
  return `${prefix}:workers`;
}

export class WorkerReadiness {
  private current: ReadinessState = { ready: true, since: new Date().toISOString() };
  private failing: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private check: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly heartbeatMs: number;

  constructor(private readonly opts: ReadinessOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
  }

  get state(): ReadinessState {
    return this.current;
  }

  async start(): Promise<void> {
    await this.publish();
    this.heartbeat = setInterval(() => void this.publish().catch(() => undefined), this.heartbeatMs).unref();
  }

  /** This worker cannot do its work: stop taking jobs, say so loudly, probe until it can. */
  notReady(err: AccessError): void {
    if (this.stopped || !this.current.ready) return;
    this.failing = err.uri;
    this.current = { ready: false, reason: err.message.slice(0, 1_000), since: new Date().toISOString() };
    this.opts.log(
      `NOT READY: ${err.message}\n  this worker's configuration (credentials, mounted paths) cannot reach ${err.uri}; it hands its jobs to other workers and takes none until a self-check (every ${this.opts.selfCheckMs} ms) can reach it`,
    );
    void this.opts.onChange(false).catch(() => undefined);
    void this.publish().catch(() => undefined);
    this.scheduleCheck();
  }

  /** Other workers whose last heartbeat said ready. */
  async readyPeers(): Promise<number> {
    const all = await this.opts.redis.hgetall(workersKey(this.opts.prefix));
    const now = Date.now();
    let ready = 0;
    const stale: string[] = [];
    for (const [id, text] of Object.entries(all)) {
      const p = parse(text);
      if (!p || now - p.at > 3 * this.heartbeatMs) stale.push(id);
      else if (id !== this.opts.id && p.ready) ready++;
    }
    if (stale.length > 0) await this.opts.redis.hdel(workersKey(this.opts.prefix), ...stale);
    return ready;
  }

  /** Shutting down: no longer ready, and no longer listed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current = { ready: false, reason: 'shutting down', since: new Date().toISOString() };
    clearInterval(this.heartbeat);
    clearTimeout(this.check);
    await this.opts.redis.hdel(workersKey(this.opts.prefix), this.opts.id);
  }

  private scheduleCheck(): void {
    this.check = setTimeout(() => void this.selfCheck(), this.opts.selfCheckMs).unref();
  }

  private async selfCheck(): Promise<void> {
    if (this.stopped || this.failing === undefined) return;
    const problem = await this.opts.probe(this.failing).catch((err: unknown) => String(err));
    if (this.stopped) return;
    if (problem !== undefined) {
      // The reason stays the first error's: a HEAD's 403 has no body, so it says less.
      this.scheduleCheck();
      return;
    }
    this.opts.log(`ready again: ${this.failing} is reachable; taking jobs`);
    this.failing = undefined;
    this.current = { ready: true, since: new Date().toISOString() };
    await this.opts.onChange(true).catch(() => undefined);
    await this.publish().catch(() => undefined);
  }

  private async publish(): Promise<void> {
    const value = JSON.stringify({
      ready: this.current.ready,
      at: Date.now(),
      pid: process.pid,
      host: hostname(),
      ...(this.current.reason ? { reason: this.current.reason } : {}),
    });
    await this.opts.redis.hset(workersKey(this.opts.prefix), this.opts.id, value);
  }
}

function parse(text: string): Published | undefined {
  try {
    const v = JSON.parse(text) as Partial<Published>;
    return typeof v.ready === 'boolean' && typeof v.at === 'number' ? { ready: v.ready, at: v.at } : undefined;
  } catch {
    return undefined;
  }
}
