/**
 * The one rule for text that PostgreSQL cannot store: every U+0000 (NUL) and every lone surrogate
 * (a UTF-16 half without its other half) becomes U+FFFD, the replacement character. It applies to
 * every string a client or a backend sends, ids, names, object keys and values alike, at the
 * collector and again in each processor (records produced straight to Kafka never passed the
 * collector). PostgreSQL rejects NUL in text and `\u0000` or an unpaired `\ud800` in jsonb, and a
 * lone surrogate has no UTF-8 form; replacing keeps the rest of the value, where removing would
 * silently join its neighbours (`a\u0000b` and `ab` would become the same customer).
 * Valid pairs (4-byte characters such as emoji) are kept. The rule is idempotent.
 */

export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Objects and arrays nested deeper than this (counting the outermost value as 1) are refused: 400
 * at the collector, a dead letter in a processor. Real tracking data nests a handful of levels; a
 * recursive walk, PostgreSQL's jsonb parser and V8's JSON.stringify all have stack limits far above.
 */
export const MAX_JSON_DEPTH = 64;

// In JSON text the same characters may also arrive escaped (`\u0000`, `\ud800`). Two tests, not
// one alternation: a plain `includes` skips the escape pattern for most texts, several times faster.
const ESCAPED_CANDIDATE = /\\u(?:0000|[dD][89a-fA-F])/;

/** `s` with NUL and lone surrogates replaced by U+FFFD; the same string when there is none. */
export function storableString(s: string): string {
  // The common case costs nearly nothing: a NUL search, and isWellFormed, which V8 answers at once
  // for strings of one-byte characters (they cannot hold a surrogate).
  if (!s.includes('\u0000') && isWellFormed(s)) return s;
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair
        continue;
      }
    }
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      out += s.slice(start, i) + REPLACEMENT_CHARACTER;
      start = i + 1;
    }
  }
  return out + s.slice(start);
}

// ES2024, in Node since 20; TypeScript's lib here is ES2023.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Whether JSON text may hold something storableJson would change (false means it certainly does not). */
export const jsonTextNeedsNormalizing = (text: string): boolean =>
  text.includes('\u0000') || !isWellFormed(text) || (text.includes('\\u') && ESCAPED_CANDIDATE.test(text));

/**
 * A parsed JSON value with the rule applied to every string and key, in place (objects keep their
 * key order). Keys are defined, not assigned, so a `__proto__` key stays a plain data property.
 * Call it only on values already checked with jsonTooDeepAt: it recurses.
 */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableString(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = storableJson(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (!keys.some((k) => storableString(k) !== k)) {
    for (const k of keys) {
      const v = obj[k];
      const nv = storableJson(v);
      if (nv !== v) define(obj, k, nv);
    }
    return value;
  }
  // A key changes: rebuild in the same order (two keys that become equal keep the later value,
  // as JSON.parse does with duplicate keys).
  const entries = keys.map((k) => [storableString(k), storableJson(obj[k])] as const);
  for (const k of keys) delete obj[k];
  for (const [k, v] of entries) define(obj, k, v);
  return value;
}

/** JSON text with the rule applied; the same text when nothing needs it (no parse on that path). */
export function storableJsonText(text: string): string {
  if (!jsonTextNeedsNormalizing(text)) return text;
  return JSON.stringify(storableJson(JSON.parse(text) as unknown));
}

/**
 * Where `value` nests objects or arrays deeper than `maxDepth` (a path like `batch[0].properties.a`),
 * or null. It descends at most maxDepth + 1 levels, so it cannot itself overflow the stack. On the
 * hot path (every request body) it only counts; the path is built in a second walk, on failure.
 */
export function jsonTooDeepAt(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  return nestsDeeper(value, maxDepth) ? pathTooDeep(value, maxDepth, '') : null;
}

function nestsDeeper(value: unknown, remaining: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (remaining <= 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestsDeeper(value[i], remaining - 1)) return true;
    return false;
  }
  const obj = value as Record<string, unknown>;
  // for-in, not Object.entries: no array per object (JSON.parse objects have no inherited keys).
  for (const k in obj) if (nestsDeeper(obj[k], remaining - 1)) return true;
  return false;
}

function pathTooDeep(value: unknown, remaining: number, path: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (remaining <= 0) return path || '(body)';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = pathTooDeep(value[i], remaining - 1, `${path}[${i}]`);
      if (at !== null) return at;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = pathTooDeep(v, remaining - 1, path ? `${path}.${k}` : k);
    if (at !== null) return at;
  }
  return null;
}

function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
