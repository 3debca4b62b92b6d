/** A clock that moves only when the test says so; sleepers wake in time order. */
import type { Clock } from '../../src/scheduler/clock.js';

interface Sleeper {
  at: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  private sleepers: Sleeper[] = [];
  constructor(private t: number) {}

  now(): Date {
    return new Date(this.t);
  }

  sleepUntil(at: Date, signal: AbortSignal): Promise<void> {
    if (at.getTime() <= this.t) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const s: Sleeper = { at: at.getTime(), resolve };
      this.sleepers.push(s);
      signal.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  /** Number of loops currently waiting for a future time. */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Moves time forward to `to`, waking each sleeper in order and letting it run. */
  async advanceTo(to: Date, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > to.getTime()) break;
      this.sleepers.shift();
      this.t = next.at;
      next.resolve();
      await settle();
    }
    this.t = to.getTime();
  }
}
