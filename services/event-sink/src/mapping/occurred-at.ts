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

export function checkTime(occurredAt: number, receivedAt: number, limits: TimeLimits): TimeCheck {
  if (!Number.isFinite(occurredAt))
    return { ok: false, reason: 'impossible-value', error: 'occurred_at is not a number' };
  if (occurredAt > receivedAt + limits.maxFutureMs) {
    return {
      ok: false,
      reason: 'future-timestamp',
      error: `occurred_at ${new Date(occurredAt).toISOString()} is more than ${limits.maxFutureMs} ms after receipt`,
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
