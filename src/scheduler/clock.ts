/** Time as the scheduler sees it: injectable so DST, catch-up and overlap are testable. */
export interface Clock {
  now(): Date;
  /** Resolves at `at` (or at once if past); rejects with AbortError when the signal fires. */
  sleepUntil(at: Date, signal: AbortSignal): Promise<void>;
}

/** Timers are capped so a clock jump (suspend, NTP step) is noticed within a minute. */
const MAX_SLEEP_MS = 60_000;

export const systemClock: Clock = {
  now: () => new Date(),
  sleepUntil: (at, signal) =>
    new Promise<void>((resolve, reject) => {
      const wait = (): void => {
        const ms = at.getTime() - Date.now();
        if (ms <= 0) return done();
        timer = setTimeout(wait, Math.min(ms, MAX_SLEEP_MS));
      };
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      let timer: NodeJS.Timeout | undefined;
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      wait();
    }),
};
