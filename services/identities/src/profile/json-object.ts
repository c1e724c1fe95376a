/** Plain-object helpers for JSON read from PostgreSQL and built for it. */

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets a key by definition, not assignment: a trait called `__proto__` stays a plain key. */
export function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
