/**
 * Measures how long a process's event loop is held by synchronous work: gaps between the ticks
 * of a 5 ms timer, in wall time and in the main thread's own CPU time.
 *
 * Why both: on a busy machine a wall-clock gap grows with everything else that runs (other
 * processes take the core), while the main thread's CPU time during the gap is the work our code
 * did without yielding: what the code controls, and what decides whether a lock renewal or a
 * heartbeat gets its turn once the machine is quiet again. CPU time comes from
 * /proc/thread-self/stat (Linux, 10 ms ticks); process.cpuUsage() would also count the
 * inference and libuv threads, which do not hold the event loop.
 *
 * In a worker process: spawn it with `preload: [EVENT_LOOP_PROBE]` (helpers/workers.ts); it
 * prints one STALL_LINE per long gap, and `stallsIn(output)` reads them back.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Stall {
  /** Date.now() when the gap ended. */
  readonly at: number;
  /** Length of the gap beyond the timer's period, wall clock. */
  readonly wallMs: number;
  /** Main-thread CPU time spent inside the gap. */
  readonly cpuMs: number;
}

const TICK_MS = 5;
const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux
/** Gaps worth reporting: shorter ones are the timer's own jitter. */
const MIN_WALL_MS = 50;
const MIN_CPU_MS = 20;

/** The preload module for worker processes (helpers/workers.ts `preload`). */
export const EVENT_LOOP_PROBE = fileURLToPath(new URL('./event-loop-probe-preload.mjs', import.meta.url));

/** utime + stime of the calling thread, in ms; undefined off Linux. */
export function threadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'latin1');
  } catch {
    return undefined;
  }
  // After "(comm) ": state is field 3 of the line; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

export class EventLoopProbe {
  readonly stalls: Stall[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastWall = 0;
  private lastCpu = 0;

  constructor(private readonly onStall: (s: Stall) => void = () => undefined) {}

  start(): this {
    if (threadCpuMs() === undefined) throw new Error('EventLoopProbe needs /proc/thread-self/stat (Linux)');
    this.lastWall = performance.now();
    this.lastCpu = threadCpuMs() ?? 0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  private tick(): void {
    const wall = performance.now();
    const cpu = threadCpuMs() ?? 0;
    const stall: Stall = { at: Date.now(), wallMs: Math.round(wall - this.lastWall - TICK_MS), cpuMs: cpu - this.lastCpu };
    this.lastWall = wall;
    this.lastCpu = cpu;
    if (stall.wallMs >= MIN_WALL_MS || stall.cpuMs >= MIN_CPU_MS) {
      this.stalls.push(stall);
      this.onStall(stall);
    }
  }

  stop(): Stall {
    this.tick();
    clearInterval(this.timer);
    return worstStall(this.stalls);
  }
}

/** The longest wall gap and the most CPU in one gap (possibly different gaps). */
export function worstStall(stalls: readonly Stall[]): Stall {
  return {
    at: Math.max(0, ...stalls.map((s) => s.at)),
    wallMs: Math.max(0, ...stalls.map((s) => s.wallMs)),
    cpuMs: Math.max(0, ...stalls.map((s) => s.cpuMs)),
  };
}

const STALL_LINE = /^event-loop stall at (\d+): wall (\d+) ms, cpu (\d+) ms$/gm;

export function stallLine(s: Stall): string {
  return `event-loop stall at ${s.at}: wall ${s.wallMs} ms, cpu ${s.cpuMs} ms`;
}

/** The stalls a probed process printed, optionally only those that ended in [from, to]. */
export function stallsIn(output: string, from = 0, to = Infinity): Stall[] {
  return [...output.matchAll(STALL_LINE)]
    .map((m) => ({ at: Number(m[1]), wallMs: Number(m[2]), cpuMs: Number(m[3]) }))
    .filter((s) => s.at >= from && s.at <= to);
}
