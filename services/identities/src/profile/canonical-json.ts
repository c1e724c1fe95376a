/**
 * JSON text with object keys sorted, so two equal values give the same text whichever order their
 * keys were built in (jsonb returns its own key order; a JS object keeps insertion order).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    Object.defineProperty(out, k, {
      value: sorted((value as Record<string, unknown>)[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
