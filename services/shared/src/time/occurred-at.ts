/**
 * Client clocks are wrong; the gap between the client's sentAt and our receivedAt is that error
 * (plus network time, which we accept), so occurred_at = timestamp + (receivedAt - sentAt).
 * Without sentAt the client's timestamp is taken as is. This is the one place skew is corrected.
 */
export function correctedTime(timestamp: number, sentAt: number | null, receivedAt: number): number {
  return sentAt === null ? timestamp : timestamp + (receivedAt - sentAt);
}

export interface TimeLimits {
  /** How far past the receive time an event may claim to be. */
  maxFutureMs: number;
  /** The earliest plausible event time (epoch ms). */
  earliestMs: number;
}

export type TimeCheck =
  { ok: true } | { ok: false; reason: 'future-timestamp' | 'impossible-value'; error: string };

/**
 * receivedAt is the collector's clock, or whatever a backend producing straight to Kafka claims;
 * the sink's own clock (`now`) bounds it, so a record claiming to be received in the year 200000
 * cannot carry an event into that year either.
 */
export function checkTime(
  occurredAt: number,
  receivedAt: number,
  limits: TimeLimits,
  now = Date.now(),
): TimeCheck {
  if (!Number.isFinite(occurredAt))
    return { ok: false, reason: 'impossible-value', error: 'occurred_at is not a number' };
  const latest = Math.min(Number.isFinite(receivedAt) ? receivedAt : now, now) + limits.maxFutureMs;
  if (occurredAt > latest) {
    return {
      ok: false,
      reason: 'future-timestamp',
      error: `occurred_at ${safeIso(occurredAt)} is more than ${limits.maxFutureMs} ms after receipt`,
    };
  }
  if (occurredAt < limits.earliestMs) {
    return {
      ok: false,
      reason: 'impossible-value',
      error: `occurred_at ${safeIso(occurredAt)} is before ${new Date(limits.earliestMs).toISOString()}`,
    };
  }
  return { ok: true };
}

function safeIso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Events claiming to be older than this are not history, they are broken clocks. */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);
