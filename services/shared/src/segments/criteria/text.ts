/** The text rules criteria share: what a string value may be, ASCII case folding, quoting user text. */
import { codePointLength, truncateCodePoints } from '../../text/code-points.js';
import { storableString } from '../../text/storable.js';
import { err, ok, type Checked } from './checked.js';

/**
 * A string PostgreSQL can hold in jsonb (values travel in a jsonb parameter, which refuses NUL and
 * lone surrogates at run time), of at most `max` characters.
 */
export function checkString(v: unknown, max: number): Checked<string> {
  if (typeof v !== 'string') return err(`expected a string, got ${typeName(v)}`);
  if (v.length > 2 * max || codePointLength(v) > max) return err(`longer than ${max} characters`);
  if (storableString(v) !== v)
    return err('contains NUL or an unpaired surrogate, which PostgreSQL cannot store');
  return ok(v);
}

const UPPER_ASCII = /[A-Z]/g;

/**
 * Lower case for A-Z only: what SQL's translate() with the two alphabets below does. Full Unicode
 * folding differs between ICU, glibc and V8, so it could never agree.
 */
export const foldAscii = (s: string): string => s.replace(UPPER_ASCII, (c) => c.toLowerCase());
export const SQL_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const SQL_LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** User text in an error message: JSON-quoted, at most 80 characters of it. */
export function quote(s: string): string {
  const cut = truncateCodePoints(s, 80);
  return JSON.stringify(cut) + (cut.length < s.length ? '…' : '');
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${quote(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
