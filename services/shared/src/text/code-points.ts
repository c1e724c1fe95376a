/**
 * Lengths as PostgreSQL's VARCHAR(n) and Ajv's maxLength count them: in characters (code points),
 * not UTF-16 units. An emoji is one character but two units in a JS string, so `s.length` would
 * refuse (or cut) a 100-character id of emoji that the collector rightly accepted.
 */

const SURROGATE = /[\ud800-\udfff]/;

export function codePointLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) if (isPairAt(s, i)) i++;
  return n;
}

/** The first `max` characters of `s`, never splitting a surrogate pair. */
export function truncateCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let i = 0;
  for (let n = 0; n < max && i < s.length; n++) i += isPairAt(s, i) ? 2 : 1;
  return s.slice(0, i);
}

function isPairAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return false;
  const next = s.charCodeAt(i + 1);
  return next >= 0xdc00 && next <= 0xdfff;
}
