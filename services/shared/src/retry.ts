import type { Logger } from './logger.js';

/** Exponential backoff with jitter, capped: 100 ms, 200 ms, ... up to `maxMs`. */
export function backoffMs(attempt: number, maxMs = 10_000, baseMs = 100): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Retries `fn` until it succeeds or `stopped()` says the process is shutting down. For start-up
 * dependencies (a broker or registry still starting): we wait for them rather than crash-loop.
 */
export async function retryForever<T>(
  what: string,
  fn: () => Promise<T>,
  logger: Logger,
  stopped: () => boolean = () => false,
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (stopped()) return undefined;
      const wait = backoffMs(attempt);
      logger.warn(
        { what, attempt, waitMs: wait, err: { message: (err as Error).message } },
        'not available yet; retrying',
      );
      await sleep(wait);
    }
  }
}
