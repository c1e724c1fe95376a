/**
 * within_last durations: a whole number of minutes, hours, days or weeks, as seconds. Months and
 * years are refused: they have no fixed length, and SQL and JS would have to agree on a calendar
 * (and on a time zone for it). Seconds keep the SQL cutoff exact in every TimeZone (`interval
 * '1 day'` would follow daylight-saving shifts there).
 */
import { err, ok, type Checked } from './checked.js';

const UNIT_SECONDS: ReadonlyMap<string, number> = new Map([
  ['minute', 60],
  ['hour', 3_600],
  ['day', 86_400],
  ['week', 604_800],
]);

/** 100 years of 365.25 days. */
export const MAX_DURATION_SECONDS = 36_525 * 86_400;

const DURATION = /^(\d{1,12})\s*([a-z]+?)s?$/;

export function parseDuration(v: unknown): Checked<number> {
  const usage = 'expected a duration such as "30 days", "2 hours", "90 minutes" or "1 week"';
  if (typeof v !== 'string') return err(usage);
  const m = DURATION.exec(v.trim().toLowerCase());
  if (!m) return err(usage);
  const unit = UNIT_SECONDS.get(m[2] ?? '');
  if (unit === undefined) {
    return err(
      /^(month|year|mon|yr)$/.test(m[2] ?? '')
        ? 'months and years have no fixed length: use days or weeks'
        : `unknown unit (one of minutes, hours, days, weeks)`,
    );
  }
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0) return err('must be a positive whole number of units');
  if (seconds > MAX_DURATION_SECONDS) return err('longer than 100 years');
  return ok(seconds);
}
