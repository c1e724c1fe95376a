/**
 * Time as the scheduler sees it, injectable so tests drive schedules, timeouts and durations
 * without waiting. Wall time (`now`) decides what is due; durations come from a monotonic source
 * so an NTP step cannot make a run last a negative time.
 */
export interface Clock {
  now(): Date;
  monotonicMs(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  setTimer(ms, fn) {
    // Node fires a delay past 2^31-1 ms (24.8 days) at once; a longer timeout_seconds is capped.
    const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  },
};
