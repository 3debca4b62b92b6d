/**
 * Measures how long this process's event loop is held by synchronous work: the longest gap
 * between two ticks of a 5 ms timer, in wall time and in the main thread's own CPU time.
 *
 * Why both: on a busy machine the wall-clock gap grows with everything else that runs (other
 * processes take the core), while the main thread's CPU time during the gap is the work our code
 * did without yielding — what it controls, and what decides whether a lock renewal or a
 * heartbeat gets its turn. CPU time comes from /proc/thread-self/stat (Linux, 10 ms ticks);
 * process.cpuUsage() would count the inference and libuv threads too.
 */
import { readFileSync } from 'node:fs';

export interface Stall {
  /** Longest gap between ticks, wall clock. */
  readonly wallMs: number;
  /** Main-thread CPU time spent inside the gap that used the most of it. */
  readonly cpuMs: number;
}

const TICK_MS = 5;
const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux

/** utime + stime of the calling thread, in ms; undefined off Linux. */
export function threadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'latin1');
  } catch {
    return undefined;
  }
  // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

export class EventLoopProbe {
  private timer: NodeJS.Timeout | undefined;
  private lastWall = 0;
  private lastCpu = 0;
  private maxWall = 0;
  private maxCpu = 0;

  start(): this {
    this.lastWall = performance.now();
    this.lastCpu = threadCpuMs() ?? 0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  private tick(): void {
    const wall = performance.now();
    const cpu = threadCpuMs() ?? 0;
    this.maxWall = Math.max(this.maxWall, wall - this.lastWall - TICK_MS);
    this.maxCpu = Math.max(this.maxCpu, cpu - this.lastCpu);
    this.lastWall = wall;
    this.lastCpu = cpu;
  }

  /** The worst stall so far (the running gap included). */
  worst(): Stall {
    this.tick();
    return { wallMs: Math.round(this.maxWall), cpuMs: this.maxCpu };
  }

  stop(): Stall {
    const s = this.worst();
    clearInterval(this.timer);
    return s;
  }
}
