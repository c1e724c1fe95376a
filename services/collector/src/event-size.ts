/**
 * The per-event size limit (MAX_EVENT_BYTES) of a batch item is on its JSON, as
 * `Buffer.byteLength(JSON.stringify(item))`. Serialising every item of every batch only to
 * measure it cost about a tenth of the collector's CPU, so a cheap upper bound comes first: a walk
 * that adds up the most bytes each value can take in JSON, and stops as soon as the bound passes
 * the limit. Only an item whose bound passes it (a rare large one) is serialised and measured.
 */

/** Most UTF-8 bytes one UTF-16 unit of a string takes in JSON: `\u0001` (6) for a control character. */
const PER_UNIT = 6;
/** Longest JSON of a number (`-1.2345678901234567e-308`). */
const NUMBER = 24;

/**
 * An upper bound of `Buffer.byteLength(JSON.stringify(value))`, exact enough for ordinary
 * values, computed without building the string; gives up (returns a value above `limit`) as soon
 * as the bound passes `limit`.
 */
export function jsonBytesBound(value: unknown, limit: number): number {
  let total = 0;
  const walk = (v: unknown): void => {
    if (total > limit) return;
    switch (typeof v) {
      case 'string':
        total += 2 + PER_UNIT * v.length;
        return;
      case 'number':
        total += NUMBER;
        return;
      case 'boolean':
        total += 5;
        return;
      case 'object':
        if (v === null) {
          total += 4;
        } else if (Array.isArray(v)) {
          total += 2 + v.length;
          for (const x of v) walk(x);
        } else {
          total += 2;
          for (const k in v as Record<string, unknown>) {
            // key, quotes, colon, comma
            total += 4 + PER_UNIT * k.length;
            walk((v as Record<string, unknown>)[k]);
          }
        }
        return;
      default:
        // undefined, functions, symbols: JSON.parse never produces them
        return;
    }
  };
  walk(value);
  return total;
}

/** Whether `item`'s JSON is larger than `limit` bytes (exact; the bound spares most items the serialisation). */
export function jsonLargerThan(item: unknown, limit: number): boolean {
  if (jsonBytesBound(item, limit) <= limit) return false;
  return Buffer.byteLength(JSON.stringify(item)) > limit;
}
