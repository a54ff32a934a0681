/**
 * Time as the scheduler sees it. The service uses `systemClock`; tests pass a virtual clock that moves
 * only when told and wakes due sleepers at once, so no test waits for real time.
 */
export interface Clock {
  now(): Date;
  /** Resolves at `at` (at once if it has passed), or as soon as `signal` aborts. Never rejects. */
  sleepUntil(at: Date, signal: AbortSignal): Promise<void>;
}

/**
 * Longest single timer. Node caps a timeout at 2^31-1 ms (24.8 days), and a timer counts monotonic time,
 * which stops while a machine is suspended and ignores a wall-clock step: waking at least every 60 s
 * re-reads the wall clock, so a slot is at most a minute late after either.
 */
const MAX_TIMER_MS = 60_000;

export const systemClock: Clock = {
  now: () => new Date(),
  sleepUntil(at, signal) {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const arm = () => {
        const remaining = at.getTime() - Date.now();
        if (remaining <= 0 || signal.aborted) return done();
        timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
      };
      signal.addEventListener('abort', done);
      arm();
    });
  },
};
