/**
 * Birthdays as clients send them: Segment's `birthday` is a Date, which JSON turns into an ISO
 * string (`1990-05-17T00:00:00.000Z`), and forms send `1990-05-17`. The calendar date is the one
 * written at the start of the string; the time and offset after it are ignored, because a
 * birthday is a date, not an instant (converting a local midnight to UTC would move it a day).
 */

const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/;

/** The earliest birth year taken as real: anything before is a placeholder or a typo. */
const EARLIEST_YEAR = 1900;

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** `YYYY-MM-DD` of a real calendar date no later than `notAfterMs`, or null. */
export function parseBirthday(value: unknown, notAfterMs: number): CalendarDate | null {
  if (typeof value !== 'string') return null;
  const m = DATE_PREFIX.exec(value.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  // Date.UTC rolls 2023-02-30 over into March; a date that does not come back the same is not one.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  if (year < EARLIEST_YEAR || ms > notAfterMs) return null;
  return { year, month, day };
}

export const isoDate = (d: CalendarDate): string =>
  `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
