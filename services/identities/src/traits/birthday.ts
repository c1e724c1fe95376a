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

/** Whole years from `birth` to the UTC date of `atMs`. */
export function ageAt(birth: CalendarDate, atMs: number): number {
  const at = new Date(atMs);
  const [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate()];
  const beforeBirthday = m < birth.month || (m === birth.month && d < birth.day);
  return y - birth.year - (beforeBirthday ? 1 : 0);
}

/** The seed's age bands ('18-24', '25-34', ...), with one band on each side. */
export function ageGroupOf(age: number): string | null {
  if (!Number.isFinite(age) || age < 0 || age > 130) return null;
  if (age < 18) return 'under-18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}
