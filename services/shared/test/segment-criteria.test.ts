/**
 * Segment criteria without a database: what each operator means per kind, aliases, the legacy
 * shape, NULL rules, case folding, durations, error messages, and hostile input (SQL in every
 * place user text can go, absurd nesting and sizes, non-objects, prototype keys). The agreement
 * with PostgreSQL itself is segment-criteria-agreement.test.ts.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  compilePredicate,
  compileSql,
  isTimeRelative,
  parseCriteria,
  type Criteria,
  type CustomerJson,
} from '../src/segments/criteria/index.js';
import { COLUMNS } from '../src/segments/criteria/fields.js';
import { FUZZ_SEED } from './hostile.js';

const AT = Date.parse('2025-03-10T12:00:00.000Z');

function parsed(input: unknown): Criteria {
  const r = parseCriteria(input);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(input)} to parse: ${r.error}`);
  return r.criteria;
}

function errorOf(input: unknown): string {
  const r = parseCriteria(input);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return r.error;
}

const one = (field: string, operator: string, value?: unknown, type?: string) => ({
  conditions: [{ field, operator, ...(value === undefined ? {} : { value }), ...(type ? { type } : {}) }],
});

/** Which of `rows` the condition selects, by index. */
function selected(input: unknown, rows: CustomerJson[], at = AT): number[] {
  const test = compilePredicate(parsed(input));
  return rows.flatMap((row, i) => (test(row, at) ? [i] : []));
}

// ---------------------------------------------------------------------------------------------
// Operators by kind

t.test('number: comparisons, between, in, not_in, nulls', async (t) => {
  const rows = [
    { total_revenue: 0.1 },
    { total_revenue: 500 },
    { total_revenue: -3 },
    { total_revenue: null },
    {},
  ];
  t.same(selected(one('total_revenue', '=', 0.1), rows), [0]);
  t.same(
    selected(one('total_revenue', '!=', 0.1), rows),
    [1, 2, 3, 4],
    'NULL and missing count as not equal',
  );
  t.same(selected(one('total_revenue', '>', 0.1), rows), [1]);
  t.same(selected(one('total_revenue', '>=', 0.1), rows), [0, 1]);
  t.same(selected(one('total_revenue', '<', 0.1), rows), [2]);
  t.same(selected(one('total_revenue', '<=', 0.1), rows), [0, 2]);
  t.same(selected(one('total_revenue', 'between', [-3, 0.1]), rows), [0, 2], 'inclusive');
  t.same(selected(one('total_revenue', 'in', [500, -3]), rows), [1, 2]);
  t.same(selected(one('total_revenue', 'not_in', [500, -3]), rows), [0, 3, 4]);
  t.same(selected(one('total_revenue', 'is_null'), rows), [3, 4]);
  t.same(selected(one('total_revenue', 'is_not_null'), rows), [0, 1, 2]);
  t.same(
    selected(one('total_revenue', '>', 1e9), [{ total_revenue: 'NaN' }]),
    [0],
    'numeric NaN is above all',
  );
  t.same(selected(one('total_revenue', '=', 1), [{ total_revenue: 'NaN' }]), []);
  t.match(errorOf(one('total_revenue', '=', '5')), /conditions\[0\]\.value: expected a finite JSON number/);
  t.match(errorOf(one('total_revenue', 'between', [5, 1])), /low is greater than high/);
  t.match(errorOf(one('total_revenue', 'contains', 'x')), /operator: "contains" is not supported for number/);
});

t.test('timestamp: microsecond precision, offsets, within_last', async (t) => {
  const rows = [
    { last_seen_at: '2025-03-10T07:00:00.000001-05:00' }, // 12:00:00.000001Z
    { last_seen_at: '2025-03-10T12:00:00+00:00' },
    { last_seen_at: '1799-12-31T19:03:58-04:56:02' }, // 1800-01-01T00:00:00Z, an LMT offset
    { last_seen_at: 'infinity' },
    { last_seen_at: '-infinity' },
    { last_seen_at: null },
    { last_seen_at: '0044-03-15T07:03:58-04:56:02 BC' },
  ];
  t.same(selected(one('last_seen_at', '>', '2025-03-10T12:00:00Z'), rows), [0, 3]);
  t.same(selected(one('last_seen_at', '=', '2025-03-10T12:00:00.000001Z'), rows), [0]);
  t.same(selected(one('last_seen_at', '=', '1800-01-01'), rows), [2], 'a bare date is midnight UTC');
  t.same(selected(one('last_seen_at', '<', '0001-01-01'), rows), [4, 6]);
  t.same(selected(one('last_seen_at', 'between', ['1800-01-01', '2025-03-10T12:00:00Z']), rows), [1, 2]);
  t.same(selected(one('last_seen_at', 'within_last', '1 minute'), rows), [0, 1, 3]);
  t.same(selected(one('last_seen_at', 'not_within_last', '1 minute'), rows), [2, 4, 6], 'NULL is neither');
  t.same(selected(one('last_seen_at', '!=', '2025-03-10T12:00:00Z'), rows), [0, 2, 3, 4, 5, 6]);
  // within_last is value >= at - d: exactly at the cutoff is within.
  const edge = [
    { last_seen_at: '2025-03-09T12:00:00+00:00' },
    { last_seen_at: '2025-03-09T11:59:59.999999+00:00' },
  ];
  t.same(selected(one('last_seen_at', 'within_last', '1 day'), edge), [0]);
  t.same(selected(one('last_seen_at', 'within_last', '24 hours'), edge), [0]);
  t.same(selected(one('last_seen_at', 'not_within_last', '1440 minutes'), edge), [1]);
  t.same(
    selected(one('last_seen_at', 'within_last', '1 day'), edge, AT + 0.9),
    [0],
    'at is whole milliseconds',
  );
  t.match(errorOf(one('last_seen_at', '=', '2025-03-10T12:00:00')), /needs Z or an offset/);
  t.match(
    errorOf(one('last_seen_at', '=', '2025-03-10T12:00:00.1234567Z')),
    /more precise than microseconds/,
  );
  t.match(errorOf(one('last_seen_at', '=', '2025-02-29')), /not a calendar date/);
  t.match(errorOf(one('last_seen_at', '=', '2025-03-10T24:00:00Z')), /not a valid time/);
  t.match(errorOf(one('last_seen_at', '=', 1741608000000)), /expected an ISO 8601/);
  t.match(errorOf(one('last_seen_at', 'in', ['2025-01-01'])), /"in" is not supported for timestamp/);
});

t.test('date: midnight UTC of the day', async (t) => {
  const rows = [
    { date_of_birth: '1990-05-01' },
    { date_of_birth: '1990-05-02' },
    { date_of_birth: '4713-11-24 BC' },
    { date_of_birth: 'infinity' },
    { date_of_birth: null },
  ];
  t.same(selected(one('date_of_birth', '=', '1990-05-01'), rows), [0]);
  t.same(selected(one('date_of_birth', '=', '1990-05-01T00:00:00+00:00'), rows), [0]);
  t.same(selected(one('date_of_birth', '=', '1990-05-01T01:00:00+01:00'), rows), [0], 'the same instant');
  t.same(selected(one('date_of_birth', '=', '1990-05-01T12:00:00Z'), rows), [], 'not a midnight');
  t.same(selected(one('date_of_birth', '!=', '1990-05-01T12:00:00Z'), rows), [0, 1, 2, 3, 4]);
  t.same(selected(one('date_of_birth', '>', '1990-05-01T12:00:00Z'), rows), [1, 3]);
  t.same(selected(one('date_of_birth', '>=', '1990-05-01'), rows), [0, 1, 3]);
  t.same(selected(one('date_of_birth', '<', '1990-05-01T00:00:00.000001Z'), rows), [0, 2]);
  t.same(
    selected(one('date_of_birth', 'between', ['1990-04-30T23:00:00-01:00', '1990-05-02']), rows),
    [0, 1],
  );
  t.same(selected(one('date_of_birth', 'within_last', '1 week'), [{ date_of_birth: '2025-03-04' }]), [0]);
  t.same(selected(one('date_of_birth', 'within_last', '1 week'), [{ date_of_birth: '2025-03-03' }]), []);
});

t.test('text: exact equality, ASCII-only case folding, no ordering', async (t) => {
  const rows = [
    { email: 'Anna@Example.COM' },
    { email: 'ÉCOLE@example.com' },
    { email: '' },
    { email: null },
    { email: 'o\'reilly"; --@x.io' },
  ];
  t.same(selected(one('email', '=', 'anna@example.com'), rows), [], '= is case-sensitive');
  t.same(selected(one('email', '=', 'Anna@Example.COM'), rows), [0]);
  t.same(selected(one('email', 'contains', 'EXAMPLE'), rows), [0, 1]);
  t.same(selected(one('email', 'contains', 'école'), rows), [], 'É is not A-Z: not folded');
  t.same(selected(one('email', 'starts_with', 'ÉCole'), rows), [1]);
  t.same(selected(one('email', 'ends_with', '.com'), rows), [0, 1]);
  t.same(
    selected(one('email', 'contains', ''), rows),
    [0, 1, 2, 4],
    'the empty needle matches every non-NULL value',
  );
  t.same(selected(one('email', 'contains', '%'), rows), [], 'no LIKE wildcards');
  t.same(selected(one('email', 'contains', '"; --'), rows), [4]);
  t.same(selected(one('email', 'in', ['', 'x']), rows), [2]);
  t.same(selected(one('email', 'not_in', ['', 'x']), rows), [0, 1, 3, 4]);
  for (const op of ['>', '>=', '<', '<=', 'between']) {
    t.match(errorOf(one('email', op, op === 'between' ? ['a', 'b'] : 'a')), /text has no ordering operators/);
  }
  t.same(
    selected(one('id', '=', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), [
      { id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
    ]),
    [0],
  );
});

t.test('tags: contains, in (any), not_in (none), NULL elements', async (t) => {
  const rows = [
    { tags: ['vip', null, 'b2b'] },
    { tags: [] },
    { tags: null },
    { tags: [null] },
    { tags: ['VIP'] },
  ];
  t.same(selected(one('tags', 'contains', 'vip'), rows), [0]);
  t.same(selected(one('tags', 'in', ['b2b', 'x']), rows), [0]);
  t.same(selected(one('tags', 'not_in', ['b2b', 'x']), rows), [1, 2, 3, 4]);
  t.same(selected(one('tags', 'is_null'), rows), [2]);
  t.same(selected(one('tags', 'contains', 'c'), [{ tags: [['a'], ['c']] }]), [0], 'multi-dimensional arrays');
  t.match(errorOf(one('tags', '=', 'vip')), /"=" is not supported for text_array field tags/);
});

t.test('json columns: is_null / is_not_null only', async (t) => {
  const rows = [{ utm_parameters: {} }, { utm_parameters: null }, {}];
  t.same(selected(one('utm_parameters', 'is_null'), rows), [1, 2]);
  t.same(selected(one('utm_parameters', 'is not null'), rows), [0]);
  t.match(errorOf(one('utm_parameters', 'contains', 'x')), /one of is_null, is_not_null/);
});

t.test('custom attributes: kinds from type or value, wrong types are NULL', async (t) => {
  const rows: CustomerJson[] = [
    { custom_attributes: { plan: 'pro', seats: 5, beta: true } },
    { custom_attributes: { plan: 'PRO', seats: '5', beta: 'true' } },
    { custom_attributes: { plan: null, seats: null, beta: null } },
    { custom_attributes: {} },
    { custom_attributes: null },
    { custom_attributes: ['plan'] },
  ];
  t.same(selected(one('custom_attributes.plan', '=', 'pro'), rows), [0]);
  t.same(selected(one('custom_attributes.plan', 'contains', 'pr'), rows), [0, 1]);
  t.same(selected(one('custom_attributes.plan', '!=', 'pro'), rows), [1, 2, 3, 4, 5]);
  t.same(selected(one('custom_attributes.seats', '>=', 5), rows), [0], 'the string "5" is not a number');
  t.same(selected(one('custom_attributes.seats', '=', 5, 'number'), rows), [0]);
  t.same(selected(one('custom_attributes.seats', 'in', [1, 5]), rows), [0]);
  t.same(selected(one('custom_attributes.beta', '=', true), rows), [0]);
  t.same(selected(one('custom_attributes.beta', '!=', true), rows), [1, 2, 3, 4, 5]);
  t.same(
    selected(one('custom_attributes.beta', 'is_null'), rows),
    [2, 3, 4, 5],
    'JSON null and missing keys',
  );
  t.same(
    selected(one('custom_attributes.seats', 'is_not_null'), rows),
    [0, 1],
    'presence, whatever the type',
  );
  t.same(
    selected(one('custom_attributes.a.b', '=', 1), [{ custom_attributes: { 'a.b': 1, a: { b: 1 } } }]),
    [0],
  );
  t.match(errorOf(one('custom_attributes.seats', '=', '5', 'number')), /expected a finite JSON number/);
  t.match(errorOf(one('custom_attributes.x', '=', null)), /give "type"/);
  t.match(errorOf(one('custom_attributes.x', '=', 1, 'date')), /type: unknown type "date"/);
  t.match(errorOf(one('custom_attributes.x', 'in', [1, 'a'])), /value\[1\]: expected a finite JSON number/);
  t.match(errorOf(one('custom_attributes.x', '>', true)), /">" is not supported for boolean/);
  t.match(errorOf(one('custom_attributes.x', 'within_last', '1 day')), /needs a timestamp column/);
  t.match(errorOf(one('custom_attributes.', '=', 1)), /key is empty/);
  t.match(errorOf(one(`custom_attributes.${'k'.repeat(201)}`, '=', 1)), /longer than 200 characters/);
});

t.test('groups: AND / OR, nesting, empty groups', async (t) => {
  const rows = [{ country: 'US', total_orders: 1 }, { country: 'DE', total_orders: 5 }, { country: null }];
  const us = { field: 'country', operator: '=', value: 'US' };
  const many = { field: 'total_orders', operator: '>', value: 2 };
  t.same(selected({ conditions: [us, many] }, rows), []);
  t.same(selected({ conditions: [us, many], logic: ' or ' }, rows), [0, 1]);
  t.same(
    selected({ conditions: [us], logic: 'OR', nested_conditions: [{ conditions: [many] }] }, rows),
    [0, 1],
  );
  t.same(selected({}, rows), [0, 1, 2], '{} matches everyone');
  t.same(selected({ conditions: [] }, rows), [0, 1, 2], 'an empty AND group matches everyone');
  t.same(selected({ logic: 'OR' }, rows), [], 'an empty OR group matches no one');
  t.same(selected({ nested_conditions: [{ logic: 'OR' }] }, rows), []);
});

t.test('operator aliases: case-insensitive and trimmed', async (t) => {
  const aliases: Record<string, string[]> = {
    '=': ['==', 'eq', 'EQUALS', ' = '],
    '!=': ['<>', 'neq', 'Not_Equals'],
    '>': ['gt'],
    '>=': ['GTE'],
    '<': ['lt'],
    '<=': ['lte'],
    not_in: ['not in', 'NOT IN'],
    is_null: ['is null', 'IS NULL'],
    is_not_null: ['is not null'],
  };
  for (const [canonical, spellings] of Object.entries(aliases)) {
    const value = canonical.startsWith('is_') ? undefined : canonical === 'not_in' ? [1] : 1;
    const expected = compileSql(parsed(one('total_orders', canonical, value)));
    for (const s of spellings)
      t.same(compileSql(parsed(one('total_orders', s, value))), expected, `${s} is ${canonical}`);
  }
});

t.test('legacy shape: AND of = (scalar) and in (array)', async (t) => {
  const legacy = {
    customer_type: ['premium', 'enterprise'],
    country: 'US',
    custom_attributes: { plan: ['pro'] },
  };
  const rows: CustomerJson[] = [
    { customer_type: 'premium', country: 'US', custom_attributes: { plan: 'pro' } },
    { customer_type: 'premium', country: 'US', custom_attributes: { plan: 'free' } },
    { customer_type: 'regular', country: 'US', custom_attributes: { plan: 'pro' } },
    { customer_type: 'enterprise', country: 'US', custom_attributes: { plan: 'pro' } },
  ];
  t.same(selected(legacy, rows), [0, 3]);
  const documented = {
    conditions: [
      { field: 'customer_type', operator: 'in', value: ['premium', 'enterprise'] },
      { field: 'country', operator: '=', value: 'US' },
      { field: 'custom_attributes.plan', operator: 'in', value: ['pro'] },
    ],
  };
  t.same(compileSql(parsed(legacy)), compileSql(parsed(documented)), 'the same as the documented shape');
  t.match(errorOf({ customer_typ: 'x' }), /^customer_typ: unknown field "customer_typ"/);
  t.match(
    errorOf({ custom_attributes: { plan: [1, 'x'] } }),
    /^custom_attributes\.plan\[1\]: expected a finite/,
  );
  t.match(errorOf({ country: null }), /^country: expected a string, got null \(use is_null/);
  t.match(errorOf({ custom_attributes: null }), /^custom_attributes: "=" is not supported for json/);
});

// ---------------------------------------------------------------------------------------------
// Durations and errors

t.test('durations: minutes to weeks, never months or years', async (t) => {
  const seconds = (value: string) => compileSql(parsed(one('last_seen_at', 'within_last', value))).params[0];
  t.equal(seconds('30 days'), 30 * 86_400);
  t.equal(seconds('1 day'), 86_400);
  t.equal(seconds('2 hours'), 7_200);
  t.equal(seconds('90 minutes'), 5_400);
  t.equal(seconds(' 1 Week '), 604_800);
  t.equal(seconds('5217weeks'), 5_217 * 604_800);
  t.match(errorOf(one('last_seen_at', 'within_last', '3 months')), /no fixed length/);
  t.match(errorOf(one('last_seen_at', 'within_last', '1 year')), /no fixed length/);
  t.match(errorOf(one('last_seen_at', 'within_last', '10 seconds')), /unknown unit/);
  t.match(errorOf(one('last_seen_at', 'within_last', '0 days')), /positive/);
  t.match(errorOf(one('last_seen_at', 'within_last', '36526 days')), /longer than 100 years/);
  t.match(errorOf(one('last_seen_at', 'within_last', '-1 days')), /expected a duration/);
  t.match(errorOf(one('last_seen_at', 'within_last', '1.5 days')), /expected a duration/);
  t.match(errorOf(one('last_seen_at', 'within_last', 30)), /expected a duration/);
  t.ok(isTimeRelative(parsed(one('last_seen_at', 'not_within_last', '1 day'))));
  t.notOk(isTimeRelative(parsed(one('last_seen_at', '>', '2025-01-01'))));
  t.ok(
    isTimeRelative(
      parsed({ nested_conditions: [{ nested_conditions: [one('churned_at', 'within_last', '1 day')] }] }),
    ),
  );
  t.ok(compileSql(parsed(one('date_of_birth', 'within_last', '1 day'))).timeRelative);
});

t.test('errors name the path and quote (and cut) user text', async (t) => {
  t.equal(
    errorOf({
      nested_conditions: [
        { conditions: [one('email', '=', 'a').conditions[0], { field: 'x; DROP TABLE', operator: '=' }] },
      ],
    }),
    'nested_conditions[0].conditions[1].field: unknown field "x; DROP TABLE" (a customers column or custom_attributes.<key>)',
  );
  t.match(
    errorOf(one('email', 'LIKE', 'x')),
    /^conditions\[0\]\.operator: unknown operator "LIKE" \(one of =, !=, /,
  );
  t.match(errorOf({ conditions: [], logic: 'XOR' }), /^logic: expected "AND" or "OR", got the string "XOR"/);
  t.match(
    errorOf({ conditions: [{ field: 'email', operator: '=', value: 'a', weight: 1 }] }),
    /^conditions\[0\]: unknown key "weight"/,
  );
  t.match(errorOf({ conditions: {} }), /^conditions: expected an array, got an object/);
  t.match(errorOf({ conditions: [], extra: 1 }), /^criteria: unknown key "extra"/);
  t.match(errorOf({ conditions: [null] }), /^conditions\[0\]: expected a JSON object, got null/);
  t.match(errorOf({ conditions: [{ operator: '=' }] }), /^conditions\[0\]\.field: missing/);
  t.match(errorOf({ conditions: [{ field: 'email' }] }), /^conditions\[0\]\.operator: missing/);
  t.match(errorOf(one('email', '=')), /^conditions\[0\]\.value: missing/);
  t.match(errorOf(one('email', 'is_null', 'x')), /is_null takes no value/);
  t.match(errorOf(one('email', 'in', [])), /non-empty array/);
  t.match(errorOf(one('email', '=', 'x'.repeat(1001))), /longer than 1000 characters/);
  t.ok(parseCriteria(one('email', '=', '😀'.repeat(1000))).ok, '1000 characters, 2000 UTF-16 units');
  t.match(errorOf(one('email', '=', 'a\u0000b')), /NUL or an unpaired surrogate/);
  t.match(errorOf(one('email', '=', 'a\ud800b')), /NUL or an unpaired surrogate/);
  t.match(errorOf(one('custom_attributes.a\u0000', 'is_null')), /NUL or an unpaired surrogate/);
  t.match(errorOf(one('total_orders', '=', Infinity)), /finite/);
  t.match(errorOf(one('total_orders', '=', NaN)), /finite/);
  const long = errorOf(one('x'.repeat(500), '=', 1));
  t.ok(
    long.includes(`"${'x'.repeat(80)}"…`) && !long.includes('x'.repeat(81)),
    'user text cut to 80 characters',
  );
  t.match(errorOf(one('custom_attributes.x', 'in', [1, 2], 'string')), /value\[0\]: expected a string/);
});

// ---------------------------------------------------------------------------------------------
// Hostile input

const MARK = 'ZQXJMARK';
const SQL_BITS = [
  "'; DROP TABLE customers; --",
  '" OR 1=1 --',
  '$1',
  '$2',
  '\\',
  "') OR ('1'='1",
  '*/',
  '/*',
];

// The only quoted literals compileSql may write; everything else in `where` is keywords,
// operators, our parameter positions and column names from the field table.
const LITERALS = new Set([
  "'null'",
  "'string'",
  "'number'",
  "'boolean'",
  "'{}'",
  "'UTC'",
  "'1 second'",
  "'1 day'",
  "'1 microsecond'",
  "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'",
  "'abcdefghijklmnopqrstuvwxyz'",
]);

/** `where` holds nothing of the criteria's text: no marker, only known literals and plain tokens. */
function assertWhereIsOurs(t: Test, where: string, note: string): void {
  t.notOk(where.toLowerCase().includes(MARK.toLowerCase()), `${note}: no user text in where`);
  t.notOk(where.includes('"'), `${note}: no double quotes`);
  const literals = where.match(/'[^']*'/g) ?? [];
  t.same(
    literals.filter((l) => !LITERALS.has(l)),
    [],
    `${note}: only known literals`,
  );
  const stripped = where.replace(/'[^']*'/g, '');
  t.match(stripped, /^[a-z_0-9$:()[\]\s,.=<>!&#|*+-]*$/i, `${note}: only plain tokens`);
  t.notOk(/--|\/\*|;/.test(stripped), `${note}: no comments or statement ends`);
}

t.test('SQL in field names and operators and logic is refused, with the text quoted', async (t) => {
  for (const field of [
    'total_revenue; DROP TABLE customers',
    'email" OR 1=1 --',
    'c.email',
    'EMAIL',
    ' email',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
  ]) {
    const e = errorOf(one(field, '=', 'x'));
    t.ok(e.startsWith(`conditions[0].field: unknown field ${JSON.stringify(field)}`), e);
    t.ok(errorOf({ [field]: 'x' }).includes(`unknown field ${JSON.stringify(field)}`), `legacy ${field}`);
  }
  for (const operator of ["= '' OR 1=1 --", 'LIKE', 'ILIKE', '~', '= ANY', '__proto__', 'constructor']) {
    t.match(errorOf(one('email', operator, 'x')), /operator: unknown operator/);
  }
  for (const logic of ['AND 1=1', "OR' --", 'and;', 'NOT', '', 1, null, ['AND']]) {
    t.match(errorOf({ conditions: [], logic }), /^logic: expected "AND" or "OR"/);
  }
  // A legacy object whose own key is __proto__ (JSON.parse makes one) is a field like any other.
  t.match(errorOf(JSON.parse('{"__proto__": {"x": 1}}')), /unknown field "__proto__"/);
  t.match(
    errorOf(
      JSON.parse('{"conditions": [{"field": "email", "operator": "=", "value": "a", "__proto__": 1}]}'),
    ),
    /unknown key "__proto__"/,
  );
});

t.test('SQL in values and attribute keys is accepted, and stays in params', async (t) => {
  const cases: unknown[] = [];
  for (const bit of SQL_BITS) {
    const s = `${MARK}${bit}`;
    cases.push(
      one('email', '=', s),
      one('email', 'contains', s),
      one('email', 'starts_with', s),
      one('email', 'ends_with', s),
      one('email', 'in', [s, bit]),
      one('tags', 'contains', s),
      one('tags', 'not_in', [s]),
      one(`custom_attributes.${s}`, '=', s),
      one(`custom_attributes.${s}`, 'is_null'),
      one(`custom_attributes.${s}`, 'in', [1, 2]),
      one(`custom_attributes.${s}`, '=', false),
      { [`custom_attributes.${s}`]: [s] },
      { custom_attributes: { [s]: s } },
      { email: s },
    );
  }
  for (const input of cases) {
    const { where, params } = compileSql(parsed(input));
    assertWhereIsOurs(t, where, JSON.stringify(input));
    t.ok(JSON.stringify(params).toLowerCase().includes(MARK.toLowerCase()), 'the value is in params');
  }
  const attr = compileSql(parsed(one('custom_attributes.__proto__', '=', 1)));
  t.same(attr.params, ['__proto__', 1]);
  t.same(
    selected(one('custom_attributes.__proto__', '=', 1), [
      JSON.parse('{"custom_attributes": {"__proto__": 1}}'),
    ]),
    [0],
  );
  t.same(selected(one('custom_attributes.constructor', 'is_not_null'), [{ custom_attributes: {} }]), []);
  t.same(selected(one('custom_attributes.toString', 'is_null'), [{ custom_attributes: {} }]), [0]);
});

t.test('random accepted criteria never put their text in where', async (t) => {
  const text = fc
    .oneof(fc.constantFrom(...SQL_BITS), fc.string({ unit: 'grapheme', maxLength: 12 }))
    .map((s) => MARK + s);
  const leaf = fc.oneof(
    fc.record({
      field: fc.constantFrom('email', 'name', 'id', 'country'),
      operator: fc.constantFrom('=', '!=', 'contains', 'starts_with', 'ends_with'),
      value: text,
    }),
    fc.record({
      field: fc.constant('email'),
      operator: fc.constantFrom('in', 'not_in'),
      value: fc.array(text, { minLength: 1, maxLength: 4 }),
    }),
    fc.record({
      field: text.map((k) => `custom_attributes.${k}`),
      operator: fc.constantFrom('=', '!=', 'contains'),
      value: text,
    }),
    fc.record({
      field: text.map((k) => `custom_attributes.${k}`),
      operator: fc.constantFrom('is_null', 'is_not_null'),
    }),
    fc.record({ field: fc.constant('tags'), operator: fc.constant('contains'), value: text }),
    fc
      .record({
        field: fc.constantFrom('total_orders', 'engagement_score'),
        operator: fc.constantFrom('>', 'between'),
        value: fc.constant(1),
      })
      .map((c) => (c.operator === 'between' ? { ...c, value: [0, 1] } : c)),
    fc
      .record({
        field: fc.constantFrom('last_seen_at', 'date_of_birth'),
        operator: fc.constantFrom('within_last', 'not_within_last', '<'),
        value: fc.constant('2 days'),
      })
      .map((c) => (c.operator === '<' ? { ...c, value: '2025-01-01T00:00:00.5+05:30' } : c)),
  );
  const { group } = fc.letrec((tie) => ({
    group: fc.record(
      {
        conditions: fc.array(leaf, { maxLength: 3 }),
        logic: fc.constantFrom('AND', 'OR', 'and', ' Or '),
        nested_conditions: fc.array(tie('group'), { maxLength: 2 }),
      },
      { requiredKeys: ['conditions'] },
    ),
  }));
  fc.assert(
    fc.property(group, (input) => {
      const r = parseCriteria(input);
      if (!r.ok) throw new Error(`refused ${JSON.stringify(input)}: ${r.error}`);
      const { where } = compileSql(r.criteria);
      return (
        !where.toLowerCase().includes(MARK.toLowerCase()) &&
        (where.match(/'[^']*'/g) ?? []).every((l) => LITERALS.has(l))
      );
    }),
    { seed: FUZZ_SEED, numRuns: 300 },
  );
  t.pass('300 random criteria');
});

t.test('absurd nesting and sizes are refused early, without deep recursion', async (t) => {
  let deep: Record<string, unknown> = { conditions: [one('email', '=', 'x').conditions[0]] };
  for (let i = 0; i < 10_000; i++) deep = { nested_conditions: [deep] };
  t.match(errorOf(deep), /nested deeper than 20 levels/);

  let twenty: Record<string, unknown> = { conditions: [] };
  for (let i = 1; i < 20; i++) twenty = { nested_conditions: [twenty] };
  t.ok(parseCriteria(twenty).ok, '20 levels are fine');
  t.match(
    errorOf({ nested_conditions: [twenty] }),
    /^(nested_conditions\[0\]\.){19}nested_conditions: nested deeper than 20 levels/,
  );

  // A cycle is just very deep nesting.
  const cycle: Record<string, unknown> = { conditions: [] };
  cycle.nested_conditions = [cycle];
  t.match(errorOf(cycle), /nested deeper than 20 levels/);

  const leaf = one('total_orders', '>', 1).conditions[0];
  t.ok(parseCriteria({ conditions: Array(500).fill(leaf) }).ok, '500 conditions are fine');
  t.match(errorOf({ conditions: Array(501).fill(leaf) }), /more than 500 conditions/);
  t.match(
    errorOf({
      conditions: Array(250).fill(leaf),
      nested_conditions: [{ conditions: Array(251).fill(leaf) }],
    }),
    /more than 500 conditions in all/,
  );
  t.match(
    errorOf({ conditions: new Array(1e9) }),
    /more than 500 conditions/,
    'a huge sparse array is not walked',
  );
  t.match(errorOf({ conditions: [, leaf] }), /conditions\[0\]: expected a JSON object, got undefined/); // eslint-disable-line no-sparse-arrays
  t.match(errorOf({ nested_conditions: Array(501).fill({}) }), /more than 500 nested groups/);
  const wide = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`k${i}`, 1]));
  t.match(errorOf({ custom_attributes: wide }), /more than 500 conditions/);

  t.ok(
    parseCriteria(
      one(
        'total_orders',
        'in',
        Array.from({ length: 1000 }, (_, i) => i),
      ),
    ).ok,
  );
  t.match(
    errorOf(
      one(
        'total_orders',
        'in',
        Array.from({ length: 1001 }, (_, i) => i),
      ),
    ),
    /more than 1000 elements/,
  );
  t.match(errorOf(one('total_orders', 'in', new Array(1e8))), /more than 1000 elements/);
  t.match(errorOf(one('email', '=', 'x'.repeat(10_000_000))), /longer than 1000 characters/);
});

t.test('non-objects and exotic objects are refused, never thrown', async (t) => {
  for (const input of [null, undefined, [], [{}], 'x', '{}', 5, 0, true, NaN, Symbol('s'), () => ({}), 10n]) {
    t.match(errorOf(input), /^criteria: expected a JSON object/);
  }
  t.match(errorOf(new Date()), /expected a JSON object/);
  t.match(errorOf(new Map()), /expected a JSON object/);
  t.match(errorOf(Object.create({ conditions: [] })), /expected a JSON object/);
  t.ok(parseCriteria(Object.create(null)).ok, 'a null-prototype object is plain');
  const getter = {
    get conditions(): unknown[] {
      throw new Error('boom');
    },
  };
  t.match(errorOf(getter), /^criteria could not be read \("boom"\)/);
  const proxy = new Proxy(
    {},
    {
      ownKeys: () => {
        throw new Error('trap');
      },
    },
  );
  t.match(errorOf(proxy), /could not be read/);
  t.match(
    errorOf({ conditions: [one('email', '=', 'a').conditions[0]], logic: { toString: () => 'AND' } }),
    /logic: expected/,
  );
});

t.test('compileSql: parameters, the evaluation time, and no NULL leaves', async (t) => {
  const none = compileSql(parsed({}));
  t.same(none, {
    where: '(num_nulls($1::jsonb, $2::timestamptz) >= 0 AND true)',
    params: [],
    timeRelative: false,
  });
  const c = compileSql(parsed(one('last_seen_at', 'between', ['2025-01-01', '2025-01-01T05:30:00.5+05:30'])));
  t.same(
    c.params,
    ['2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.500000Z'],
    'canonical UTC, microseconds',
  );
  t.same(
    compileSql(parsed(one('date_of_birth', '>=', '2025-01-01T00:00:00.000001Z'))).params,
    ['2025-01-02'],
    'rounded up',
  );
  t.same(compileSql(parsed(one('date_of_birth', '>', '2025-01-01T00:00:00.000001Z'))).params, ['2025-01-01']);
  t.same(compileSql(parsed(one('email', 'contains', 'ÀbC'))).params, ['Àbc'], 'the needle is folded (A-Z)');
  const every = compileSql(
    parsed({
      conditions: [one('email', '!=', 'a').conditions[0], one('tags', 'not_in', ['a']).conditions[0]],
    }),
  );
  t.match(every.where, /NOT COALESCE\(c\.email = /);
  t.match(every.where, /NOT COALESCE\(c\.tags && /);
  t.notMatch(every.where, /\$[3-9]/, 'only $1 and $2');
});

t.test('parseCriteria never throws; what it accepts compiles and evaluates on any row', async (t) => {
  const fields = fc.oneof(
    fc.constantFrom(
      ...COLUMNS.keys(),
      'custom_attributes.plan',
      'custom_attributes.',
      '__proto__',
      'constructor',
    ),
    fc.string(),
  );
  const operators = fc.oneof(
    fc.constantFrom(
      '=',
      '==',
      '<>',
      'gt',
      'between',
      'in',
      'not in',
      'contains',
      'is null',
      'within_last',
      'ends_with',
    ),
    fc.string(),
  );
  const values = fc.oneof(
    fc.constantFrom(
      '30 days',
      '2025-01-01',
      '2025-01-01T00:00:00+05:30',
      'vip',
      '',
      -0,
      1e308,
      [1, 2],
      ['a'],
      [5, 1],
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const condition = fc.record(
    {
      field: fields,
      operator: operators,
      value: values,
      type: fc.constantFrom('string', 'number', 'boolean', 'x', 1),
    },
    { requiredKeys: [] },
  );
  const { group } = fc.letrec((tie) => ({
    group: fc.record(
      {
        conditions: fc.array(fc.oneof(condition, fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }),
        logic: fc.oneof(fc.constantFrom('AND', 'or', ' OR '), fc.jsonValue({ maxDepth: 1 })),
        nested_conditions: fc.oneof(fc.array(tie('group'), { maxLength: 2 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
  }));
  const input = fc.oneof(group, fc.dictionary(fields, values), fc.anything());
  const rows = fc.sample(
    fc.oneof(fc.dictionary(fc.constantFrom(...COLUMNS.keys()), fc.jsonValue({ maxDepth: 2 })), fc.object()),
    { seed: FUZZ_SEED, numRuns: 40 },
  );
  let accepted = 0;
  fc.assert(
    fc.property(input, (i) => {
      const r = parseCriteria(i);
      if (!r.ok) return typeof r.error === 'string' && r.error.length > 0;
      accepted++;
      const { where, params } = compileSql(r.criteria);
      JSON.stringify(params); // always serialisable
      const predicate = compilePredicate(r.criteria);
      for (const row of rows) predicate(row as CustomerJson, AT);
      return where.startsWith('(num_nulls($1::jsonb, $2::timestamptz) >= 0 AND ');
    }),
    { seed: FUZZ_SEED, numRuns: 3000 },
  );
  t.ok(accepted > 100, `some random criteria were accepted (${accepted} of 3000)`);
});
