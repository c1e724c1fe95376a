/**
 * Three kinds of failure, decided by `retriable` and nothing else:
 * - retryable: a dependency is down or busy; back off and retry the same work;
 * - poison: this record can never succeed; dead-letter it with the reason;
 * - anything else is a bug: crash, and let the supervisor restart us.
 */

export class RetryableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

export class PoisonError extends Error {
  readonly retriable = false;
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PoisonError';
  }
}

// PostgreSQL SQLSTATE classes/codes that mean "try again later", not "this data is wrong".
const PG_RETRYABLE_CLASSES = ['08', '53', '57', '58']; // connection, resources, operator intervention, system
const PG_RETRYABLE_CODES = new Set(['40001', '40P01', '55P03']); // serialization, deadlock, lock not available
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { retriable?: unknown; code?: unknown; message?: unknown };
  if (typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.code === 'string') {
    if (NET_CODES.has(e.code) || PG_RETRYABLE_CODES.has(e.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(e.code) && PG_RETRYABLE_CLASSES.includes(e.code.slice(0, 2))) return true;
  }
  if (
    typeof e.message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message)
  ) {
    return true;
  }
  return false;
}
