/**
 * Instants as exact epoch microseconds (bigint): PostgreSQL's precision, and exact over its whole
 * range (a double holds microseconds exactly only within about 285 years of 1970). Two readers:
 * strict ISO 8601 for values in criteria, and PostgreSQL's own JSON rendering of timestamptz and
 * date for customer rows, in whatever session TimeZone rendered them (offsets may carry seconds,
 * `-04:56:02` before standard time; years may have 5+ digits or end in ` BC`).
 */
import { err, ok, type Checked } from './checked.js';

export const MICROS_PER_DAY = 86_400_000_000n;
/** PostgreSQL's `infinity` and `-infinity`: beyond every finite timestamp or date it can hold. */
export const POSITIVE_INFINITY = 1n << 62n;
export const NEGATIVE_INFINITY = -POSITIVE_INFINITY;

// Values in criteria: years 0001-9999 (PostgreSQL reads them in any DateStyle), UTC result too.
const MIN_VALUE = BigInt(daysFromCivil(1, 1, 1)) * MICROS_PER_DAY;
const MAX_VALUE = BigInt(daysFromCivil(10_000, 1, 1)) * MICROS_PER_DAY - 1n;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(.*))?$/;
const ISO_OFFSET = /^(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$/;

/** A criteria value: `YYYY-MM-DD` (midnight UTC) or a datetime with `Z` or an offset, to microseconds. */
export function parseIsoInstant(s: string): Checked<bigint> {
  const m = ISO.exec(s);
  if (!m) return err('expected an ISO 8601 date (YYYY-MM-DD) or datetime (YYYY-MM-DDTHH:MM:SS.ffffffZ)');
  const [, y, mo, d, h, mi, sec, frac, offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return err('not a calendar date between 0001-01-01 and 9999-12-31');
  }
  let micros = BigInt(daysFromCivil(year, month, day)) * MICROS_PER_DAY;
  if (h !== undefined) {
    const hours = Number(h);
    const minutes = Number(mi);
    const seconds = sec === undefined ? 0 : Number(sec);
    if (hours > 23 || minutes > 59 || seconds > 59) return err('not a valid time of day');
    if (frac !== undefined && frac.length > 6) return err('more precise than microseconds');
    if (offset === '') {
      return err('a datetime needs Z or an offset (+HH:MM), else it would depend on the session time zone');
    }
    const o = ISO_OFFSET.exec(offset ?? '');
    if (!o) return err('not a valid offset (Z or +HH:MM)');
    const offsetMinutes = o[1] ? Number(o[2]) * 60 + Number(o[3] ?? 0) : 0;
    if (Number(o[3] ?? 0) > 59 || offsetMinutes > 15 * 60 + 59) return err('not a valid offset');
    const sign = o[1] === '-' ? -1 : 1;
    micros +=
      BigInt((hours * 60 + minutes) * 60 + seconds) * 1_000_000n +
      BigInt((frac ?? '').padEnd(6, '0')) -
      BigInt(sign * offsetMinutes) * 60_000_000n;
  }
  if (micros < MIN_VALUE || micros > MAX_VALUE) return err('outside 0001-01-01 to 9999-12-31 UTC');
  return ok(micros);
}

const PG_TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:Z|([+-])(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?)( BC)?$/;
const PG_DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;

/** A timestamptz as to_jsonb renders it (also `Z`), or null when it is not one. */
export function pgTimestampMicros(v: unknown): bigint | null {
  if (typeof v !== 'string') return null;
  const inf = infinity(v);
  if (inf !== null) return inf;
  const m = PG_TIMESTAMP.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os, bc] = m;
  const offsetSeconds = sign
    ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0))
    : 0;
  const local =
    BigInt(daysFromCivil(bc ? 1 - Number(y) : Number(y), Number(mo), Number(d))) * MICROS_PER_DAY +
    BigInt((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1_000_000n +
    BigInt((frac ?? '').padEnd(6, '0'));
  return local - BigInt(offsetSeconds) * 1_000_000n;
}

/** A date as to_jsonb renders it, as the microsecond of its midnight UTC; null when it is not one. */
export function pgDateMicros(v: unknown): bigint | null {
  if (typeof v !== 'string') return null;
  const inf = infinity(v);
  if (inf !== null) return inf;
  const m = PG_DATE.exec(v);
  if (!m) return null;
  const [, y, mo, d, bc] = m;
  return BigInt(daysFromCivil(bc ? 1 - Number(y) : Number(y), Number(mo), Number(d))) * MICROS_PER_DAY;
}

function infinity(v: string): bigint | null {
  if (v === 'infinity') return POSITIVE_INFINITY;
  if (v === '-infinity') return NEGATIVE_INFINITY;
  return null;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, what PostgreSQL reads the same in any TimeZone and DateStyle. */
export function isoFromMicros(micros: bigint): string {
  const days = floorDiv(micros, MICROS_PER_DAY);
  const rest = micros - days * MICROS_PER_DAY;
  const seconds = Number(rest / 1_000_000n);
  const fraction = String(rest % 1_000_000n).padStart(6, '0');
  const time = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map(pad2).join(':');
  return `${dateFromDays(Number(days))}T${time}.${fraction}Z`;
}

/** The UTC day holding `micros`, as days since 1970-01-01 (rounded down). */
export const floorDays = (micros: bigint): bigint => floorDiv(micros, MICROS_PER_DAY);

/** `YYYY-MM-DD` of a day number (years 1-9999, which is all criteria values can reach). */
export function dateFromDays(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// Proleptic Gregorian calendar, as PostgreSQL uses (H. Hinnant's days_from_civil / civil_from_days);
// `year` is astronomical (1 BC is year 0).
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
