/**
 * JSON text with object keys sorted, so two equal values give the same text whichever order their
 * keys were built in (jsonb returns its own key order; a JS object keeps insertion order). Used to
 * compare values (identities: did a column change) and to order them (orders: the tie-break
 * between two values of one field), and published as such (cdp.customer-changes oldJson/newJson).
 *
 * For plain data, what JSON.parse and jsonb give; otherwise exactly what JSON.stringify does with
 * the key-sorted copy:
 * - object keys sorted by UTF-16 code units, then written in JavaScript's property order, which puts
 *   integer-like keys ("2", "10") first in numeric order: `{"2":0,"10":0,"a":0}`;
 * - a property whose value JSON cannot hold (undefined, a function) is left out, as in jsonb; in an
 *   array it is `null`; arrays keep their order;
 * - objects are read by their own enumerable keys, so toJSON is not called (a Date is `{}`);
 * - a top-level value JSON cannot hold is `null`.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value)) ?? 'null';
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    // Defined, not assigned: a `__proto__` key stays a plain key.
    Object.defineProperty(out, k, {
      value: sorted((value as Record<string, unknown>)[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
