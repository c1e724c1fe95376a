/**
 * Criteria as one boolean SQL expression over `customers c`, selecting exactly the rows
 * compilePredicate accepts. The text is built only from the field table (fields.ts), this file's
 * templates and parameter positions; every value and every custom attribute key travels as an
 * element of the jsonb array $1, and the evaluation time as $2. Every leaf is wrapped so it is
 * never NULL, which makes NOT and the groups two-valued as in JS.
 */
import type { Condition, Criteria, Field, Group, Scalar } from './ast.js';
import { isTimeRelative } from './ast.js';
import { COLUMNS } from './fields.js';
import { dateFromDays, floorDays, MICROS_PER_DAY, parseIsoInstant } from './instants.js';
import { foldAscii, SQL_LOWER, SQL_UPPER } from './text.js';

export interface CompiledSql {
  /**
   * A boolean expression over `customers c` referencing only $1 (jsonb: JSON.stringify(params)
   * from node-postgres, or a jsonb value in plpgsql's EXECUTE ... USING) and $2 (timestamptz, the
   * evaluation time). It always references both, so pass both even when timeRelative is false.
   */
  where: string;
  params: unknown[];
  /** Whether the result depends on $2: such segments must be re-evaluated as time passes. */
  timeRelative: boolean;
}

export function compileSql(c: Criteria): CompiledSql {
  const params: unknown[] = [];
  const body = group(c, new Params(params));
  // node-postgres sends parameters untyped: PostgreSQL must see both with their types even when
  // the criteria use neither, or it fails with "could not determine data type of parameter".
  const where = `(num_nulls($1::jsonb, $2::timestamptz) >= 0 AND ${body})`;
  return { where, params, timeRelative: isTimeRelative(c) };
}

class Params {
  constructor(private readonly values: unknown[]) {}
  /** The parameter as text (`->>`). */
  text(v: unknown): string {
    return `($1::jsonb ->> ${this.values.push(v) - 1})`;
  }
  /** The parameter as jsonb (`->`), for arrays. */
  json(v: unknown): string {
    return `($1::jsonb -> ${this.values.push(v) - 1})`;
  }
}

function group(g: Group, p: Params): string {
  const parts = [...g.conditions.map((c) => condition(c, p)), ...g.groups.map((n) => group(n, p))];
  if (parts.length === 0) return g.logic === 'AND' ? 'true' : 'false';
  return `(${parts.join(` ${g.logic} `)})`;
}

const never = (c: Condition): never => {
  throw new Error(`${c.op} on a ${c.field.kind} field: parseCriteria never builds this`);
};

/** The SQL of a two-valued leaf: NULL (unknown) counts as false. */
const known = (expr: string): string => `COALESCE(${expr}, false)`;

function condition(c: Condition, p: Params): string {
  const field = fieldSql(c.field, p);
  if (c.op === 'is_null') return field.isNull;
  if (c.op === 'is_not_null') return `NOT ${field.isNull}`;
  const x = field.value;
  switch (c.field.kind) {
    case 'text':
    case 'uuid':
      return textCondition(c, x, p);
    case 'boolean':
      if (c.op !== '=' && c.op !== '!=') return never(c);
      return negatedIf(c.op === '!=', known(`${x} = (${p.text(c.value)})::boolean`));
    case 'number':
      return ordered(
        c,
        x,
        (v) => `(${p.text(v)})::numeric`,
        (vs) => `(ARRAY(SELECT jsonb_array_elements_text(${p.json(vs)})))::numeric[]`,
        p,
      );
    case 'timestamp':
      return ordered(
        c,
        x,
        (v) => `(${p.text(v)})::timestamptz`,
        () => never(c),
        p,
      );
    case 'date':
      return dateCondition(c, x, p);
    case 'text_array':
      return arrayCondition(c, x, p);
    case 'json':
    case 'any':
      return never(c);
  }
}

const negatedIf = (negate: boolean, expr: string): string => (negate ? `NOT ${expr}` : expr);

interface FieldSql {
  /** The value as its kind, NULL when missing or (custom attributes) of another JSON type. */
  value: string;
  /** True when NULL, a missing key or JSON null; never NULL itself. */
  isNull: string;
}

function fieldSql(f: Field, p: Params): FieldSql {
  if (f.source === 'column') {
    const column = COLUMNS.get(f.column);
    if (!column) throw new Error(`not a customers column: ${JSON.stringify(f.column)}`);
    // to_jsonb renders a jsonb column holding JSON null as null, as it does SQL NULL.
    const isNull =
      column.kind === 'json'
        ? `(${column.sql} IS NULL OR jsonb_typeof(${column.sql}) = 'null')`
        : `(${column.sql} IS NULL)`;
    return { value: column.sql, isNull };
  }
  const raw = `(c.custom_attributes -> ${p.text(f.key)})`;
  const isNull = `(${raw} IS NULL OR jsonb_typeof(${raw}) = 'null')`;
  switch (f.kind) {
    case 'text':
      return { value: `(CASE WHEN jsonb_typeof(${raw}) = 'string' THEN ${raw} #>> '{}' END)`, isNull };
    case 'number':
      return { value: `(CASE WHEN jsonb_typeof(${raw}) = 'number' THEN (${raw})::numeric END)`, isNull };
    case 'boolean':
      return { value: `(CASE WHEN jsonb_typeof(${raw}) = 'boolean' THEN (${raw})::boolean END)`, isNull };
    case 'any':
      return { value: 'NULL', isNull };
  }
}

const SQL_COMPARE = { '>': '>', '>=': '>=', '<': '<', '<=': '<=' } as const;

/** Numbers and timestamps: the comparison as written, on exact numeric / microsecond values. */
function ordered(
  c: Condition,
  x: string,
  value: (v: Scalar) => string,
  list: (vs: readonly Scalar[]) => string,
  p: Params,
): string {
  switch (c.op) {
    case '=':
    case '!=':
      return negatedIf(c.op === '!=', known(`${x} = ${value(c.value)}`));
    case '>':
    case '>=':
    case '<':
    case '<=':
      return known(`${x} ${SQL_COMPARE[c.op]} ${value(c.value)}`);
    case 'between':
      return known(`${x} BETWEEN ${value(c.low)} AND ${value(c.high)}`);
    case 'in':
    case 'not_in':
      return negatedIf(c.op === 'not_in', known(`${x} = ANY (${list(c.values)})`));
    case 'within_last':
      return known(`${x} >= ${cutoff(c.seconds, p)}`);
    case 'not_within_last':
      return known(`${x} < ${cutoff(c.seconds, p)}`);
    default:
      return never(c);
  }
}

/** The evaluation time minus a duration, in exact microseconds whatever the session TimeZone. */
const cutoff = (seconds: number, p: Params): string =>
  `($2::timestamptz - (${p.text(seconds)})::bigint * interval '1 second')`;

/**
 * date_of_birth compares as midnight UTC of its day. Rather than cast the column to timestamptz
 * (which fails for dates past timestamp's range and hides the index), each comparison with an
 * instant v is restated on whole days: midnight(D) > v  <=>  D > floor(v); midnight(D) >= v  <=>
 * D >= ceil(v); and so on, where floor and ceil are v's UTC day rounded down or up.
 */
function dateCondition(c: Condition, x: string, p: Params): string {
  const day = (v: Scalar, round: 'floor' | 'ceil'): string => {
    const micros = instant(v);
    const days = floorDays(micros) + (round === 'ceil' && micros % MICROS_PER_DAY !== 0n ? 1n : 0n);
    return `(${p.text(dateFromDays(Number(days)))})::date`;
  };
  const isMidnight = (v: Scalar): boolean => instant(v) % MICROS_PER_DAY === 0n;
  switch (c.op) {
    case '=':
    case '!=':
      // No midnight equals an instant that is not one.
      return negatedIf(
        c.op === '!=',
        isMidnight(c.value) ? known(`${x} = ${day(c.value, 'floor')}`) : 'false',
      );
    case '>':
      return known(`${x} > ${day(c.value, 'floor')}`);
    case '>=':
      return known(`${x} >= ${day(c.value, 'ceil')}`);
    case '<':
      return known(`${x} < ${day(c.value, 'ceil')}`);
    case '<=':
      return known(`${x} <= ${day(c.value, 'floor')}`);
    case 'between':
      return known(`${x} BETWEEN ${day(c.low, 'ceil')} AND ${day(c.high, 'floor')}`);
    case 'within_last':
      return known(`${x} >= ${ceilDay(cutoff(c.seconds, p))}`);
    case 'not_within_last':
      return known(`${x} < ${ceilDay(cutoff(c.seconds, p))}`);
    default:
      return never(c);
  }
}

/** The first UTC day whose midnight is at or after a timestamptz (the day rounded up). */
const ceilDay = (t: string): string =>
  `((${t} AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date`;

function instant(v: Scalar): bigint {
  const r = parseIsoInstant(String(v));
  if (!r.ok) throw new Error(`not a canonical instant: ${JSON.stringify(v)}`);
  return r.value;
}

/**
 * Text: exact = and in; contains / starts_with / ends_with fold A-Z on both sides (the needle is
 * folded here, once). strpos, starts_with and right are used rather than LIKE: no wildcard or
 * escape character in a value can change their meaning.
 */
function textCondition(c: Condition, x: string, p: Params): string {
  const folded = `translate(${x}, '${SQL_UPPER}', '${SQL_LOWER}')`;
  switch (c.op) {
    case '=':
    case '!=':
      return negatedIf(c.op === '!=', known(`${x} = ${p.text(c.value)}`));
    case 'in':
    case 'not_in':
      return negatedIf(
        c.op === 'not_in',
        known(`${x} = ANY (ARRAY(SELECT jsonb_array_elements_text(${p.json(c.values)})))`),
      );
    case 'contains':
      return known(`strpos(${folded}, ${p.text(foldAscii(c.value))}) > 0`);
    case 'starts_with':
      return known(`starts_with(${folded}, ${p.text(foldAscii(c.value))})`);
    case 'ends_with': {
      const needle = p.text(foldAscii(c.value));
      return known(`right(${folded}, char_length(${needle})) = ${needle}`);
    }
    default:
      return never(c);
  }
}

/** tags (text[]): = ANY and && ignore NULL elements, as the JS side does. */
function arrayCondition(c: Condition, x: string, p: Params): string {
  switch (c.op) {
    case 'contains':
      return known(`${p.text(c.value)} = ANY (${x})`);
    case 'in':
    case 'not_in':
      return negatedIf(
        c.op === 'not_in',
        known(`${x} && (ARRAY(SELECT jsonb_array_elements_text(${p.json(c.values)})))::text[]`),
      );
    default:
      return never(c);
  }
}
