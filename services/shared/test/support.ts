/** Shared by the integration tests: real servers, random names, waiting on conditions. */
import { randomBytes } from 'node:crypto';
import { commonConfig, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

export const config = loadConfig(commonConfig, process.env);
export const logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

export const randomName = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}
