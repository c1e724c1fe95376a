/**
 * Criteria as a JS predicate over a customers row as to_jsonb(c) renders it. It states the
 * semantics directly (see index.ts); compileSql must select exactly the rows this accepts, which
 * the agreement test checks against PostgreSQL.
 */
import type { Condition, Criteria, Field, Group, Scalar } from './ast.js';
import { pgDateMicros, pgTimestampMicros, parseIsoInstant } from './instants.js';
import { foldAscii } from './text.js';

/** A customers row as to_jsonb(c) renders it, JSON-parsed. */
export type CustomerJson = Record<string, unknown>;

/** `at` is the evaluation time in epoch microseconds, computed only if a condition needs it. */
type Test = (row: CustomerJson, at: () => bigint) => boolean;

/** A field's value read as its kind: null when missing, NULL, or of another type. */
type Read<T> = (row: CustomerJson) => T | null;

export function compilePredicate(c: Criteria): (row: CustomerJson, atMs: number) => boolean {
  const test = group(c);
  return (row, atMs) =>
    test(row, () => {
      if (!Number.isFinite(atMs)) throw new RangeError(`atMs must be a finite number, got ${atMs}`);
      // Whole milliseconds, as new Date(atMs).toISOString() gives the SQL side.
      return BigInt(Math.trunc(atMs)) * 1000n;
    });
}

function group(g: Group): Test {
  const parts = [...g.conditions.map(condition), ...g.groups.map(group)];
  return g.logic === 'AND'
    ? (row, at) => parts.every((t) => t(row, at))
    : (row, at) => parts.some((t) => t(row, at));
}

function condition(c: Condition): Test {
  const raw = rawReader(c.field);
  if (c.op === 'is_null') return (row) => isAbsent(raw(row));
  if (c.op === 'is_not_null') return (row) => !isAbsent(raw(row));
  const kind = c.field.kind;
  switch (kind) {
    case 'text':
    case 'uuid':
      return textCondition(
        c,
        typed(raw, (v) => (typeof v === 'string' ? v : null)),
      );
    case 'boolean':
      return equalityOnly(
        c,
        typed(raw, (v) => (typeof v === 'boolean' ? v : null)),
      );
    case 'number':
      return ordered(
        c,
        typed(raw, c.field.source === 'column' ? columnNumber : attributeNumber),
        (v) => v as number,
      );
    case 'timestamp':
      return ordered(c, typed(raw, pgTimestampMicros), instant);
    case 'date':
      return ordered(c, typed(raw, pgDateMicros), instant);
    case 'text_array':
      return arrayCondition(
        c,
        typed(raw, (v) => (Array.isArray(v) ? v.flat(Infinity) : null)),
      );
    case 'json':
    case 'any':
      throw new Error(`${c.op} on a ${kind} field: parseCriteria never builds this`);
  }
}

const isAbsent = (v: unknown): boolean => v === null || v === undefined;

function rawReader(f: Field): (row: CustomerJson) => unknown {
  if (f.source === 'column') {
    const column = f.column;
    return (row) => row[column];
  }
  const key = f.key;
  return (row) => {
    const attrs = row.custom_attributes;
    // Own keys only: `constructor` or `__proto__` must not find Object.prototype's.
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs) || !Object.hasOwn(attrs, key)) {
      return undefined;
    }
    return (attrs as Record<string, unknown>)[key];
  };
}

const typed =
  <T>(raw: (row: CustomerJson) => unknown, as: (v: unknown) => T | null): Read<T> =>
  (row) =>
    as(raw(row));

// numeric columns render NaN as the string "NaN" (and, unconstrained, infinities as strings).
// PostgreSQL orders NaN above every number, so above every finite value a condition can hold,
// as +Infinity is.
const NUMERIC_SPECIALS: ReadonlyMap<unknown, number> = new Map([
  ['NaN', Infinity],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);
const columnNumber = (v: unknown): number | null =>
  typeof v === 'number' ? v : (NUMERIC_SPECIALS.get(v) ?? null);
const attributeNumber = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function instant(v: Scalar): bigint {
  const r = parseIsoInstant(v as string);
  if (!r.ok) throw new Error(`not a canonical instant: ${String(v)}`);
  return r.value;
}

/** =, != and the orderings, between, in / not_in and within_last over numbers or instants. */
function ordered<T extends number | bigint>(c: Condition, read: Read<T>, value: (v: Scalar) => T): Test {
  switch (c.op) {
    case '=':
    case '!=': {
      const v = value(c.value);
      const eq: Test = (row) => read(row) === v;
      return c.op === '=' ? eq : (row, at) => !eq(row, at);
    }
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const v = value(c.value);
      const cmp = COMPARE[c.op];
      return (row) => {
        const x = read(row);
        return x !== null && cmp(x, v);
      };
    }
    case 'between': {
      const low = value(c.low);
      const high = value(c.high);
      return (row) => {
        const x = read(row);
        return x !== null && low <= x && x <= high;
      };
    }
    case 'in':
    case 'not_in': {
      const set = new Set(c.values.map(value));
      const isIn: Test = (row) => {
        const x = read(row);
        return x !== null && set.has(x);
      };
      return c.op === 'in' ? isIn : (row, at) => !isIn(row, at);
    }
    case 'within_last':
    case 'not_within_last': {
      const micros = BigInt(c.seconds) * 1_000_000n;
      const within = c.op === 'within_last';
      return (row, at) => {
        const x = read(row);
        if (x === null) return false;
        const cutoff = at() - micros;
        return within ? x >= cutoff : x < cutoff;
      };
    }
    default:
      throw new Error(`${c.op} on an ordered field: parseCriteria never builds this`);
  }
}

const COMPARE = {
  '>': (a: number | bigint, b: number | bigint) => a > b,
  '>=': (a: number | bigint, b: number | bigint) => a >= b,
  '<': (a: number | bigint, b: number | bigint) => a < b,
  '<=': (a: number | bigint, b: number | bigint) => a <= b,
} as const;

function textCondition(c: Condition, read: Read<string>): Test {
  switch (c.op) {
    case 'contains':
    case 'starts_with':
    case 'ends_with': {
      const needle = foldAscii(c.value);
      const op = c.op;
      return (row) => {
        const x = read(row);
        if (x === null) return false;
        const folded = foldAscii(x);
        return op === 'contains'
          ? folded.includes(needle)
          : op === 'starts_with'
            ? folded.startsWith(needle)
            : folded.endsWith(needle);
      };
    }
    case 'in':
    case 'not_in': {
      const set = new Set<Scalar>(c.values);
      const isIn: Test = (row) => {
        const x = read(row);
        return x !== null && set.has(x);
      };
      return c.op === 'in' ? isIn : (row, at) => !isIn(row, at);
    }
    default:
      return equalityOnly(c, read);
  }
}

function equalityOnly(c: Condition, read: Read<Scalar>): Test {
  if (c.op !== '=' && c.op !== '!=') throw new Error(`${c.op} here: parseCriteria never builds this`);
  const v = c.value;
  const eq: Test = (row) => read(row) === v;
  return c.op === '=' ? eq : (row, at) => !eq(row, at);
}

/** tags: contains one element; in = shares any element; not_in = shares none. NULL elements match nothing. */
function arrayCondition(c: Condition, read: Read<unknown[]>): Test {
  if (c.op === 'contains') {
    const v = c.value;
    return (row) => read(row)?.includes(v) ?? false;
  }
  if (c.op !== 'in' && c.op !== 'not_in') throw new Error(`${c.op} on tags: parseCriteria never builds this`);
  const set = new Set<unknown>(c.values);
  const overlaps: Test = (row) => read(row)?.some((e) => typeof e === 'string' && set.has(e)) ?? false;
  return c.op === 'in' ? overlaps : (row, at) => !overlaps(row, at);
}
