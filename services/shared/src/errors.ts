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
const PG_RETRYABLE_CODES = new Set(['40001', '40P01', '55P03', '23503']); // serialization, deadlock, lock not available, a referenced row deleted meanwhile
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// SQLSTATEs that mean "this data cannot be stored": data exceptions (22: bad encoding, out of
// range, invalid text representation), integrity violations (23), and the limits a value can hit
// (54000: an index entry too large; 54001: nesting too deep for the parser's stack).
const PG_DATA_CLASSES = ['22', '23'];
const PG_DATA_CODES = new Set(['54000', '54001']);

/**
 * Whether PostgreSQL refused a write because of the values in it, so the same write will always
 * fail, and the records that carry those values are to be found and dead-lettered. Failures of the
 * database itself (connection, shutdown, serialization, deadlock) are retryable instead.
 */
export function isDataError(err: unknown): err is Error & { code: string } {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  if (isDatabaseState(err, code)) return false;
  return PG_DATA_CLASSES.includes(code.slice(0, 2)) || PG_DATA_CODES.has(code);
}

/**
 * Integrity errors that speak of the database's state, not of the record: a row the write refers
 * to was deleted meanwhile (23503, a concurrent customer delete: retried, the customer is resolved
 * anew), or a partition the process believed in is gone (23514 "no partition of relation": an
 * operator dropped it; not retried, the process restarts and creates it again). Dead-lettering
 * would move good records aside for what is no fault of theirs.
 */
function isDatabaseState(err: Error, code: string): boolean {
  return code === '23503' || (code === '23514' && /no partition of relation/.test(err.message));
}

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
