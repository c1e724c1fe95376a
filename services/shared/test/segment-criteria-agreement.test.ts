/**
 * compileSql and compilePredicate select the same customers, judged by PostgreSQL itself: inside
 * one transaction that is rolled back, ~300 random customers (unicode, quotes, mixed case, NULLs,
 * decimals, NaN, microsecond timestamps around a fixed `at`, infinities, BC dates, tags with NULL
 * elements, custom attributes of every JSON type) and 300+ random criteria drawn from their values,
 * each run through node-postgres in a non-UTC session TimeZone (and a few through plpgsql's
 * EXECUTE ... USING), compared id for id with the predicate over to_jsonb(c).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import t from 'tap';
import { createDb, type Tx } from '../src/pg/gateway.js';
import { COLUMNS, type ColumnKind } from '../src/segments/criteria/fields.js';
import {
  compilePredicate,
  compileSql,
  parseCriteria,
  type CustomerJson,
} from '../src/segments/criteria/index.js';
import { FUZZ_SEED } from './hostile.js';
import { config, randomName } from './support.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'criteria-test',
  registry: new Registry(),
});
t.teardown(() => db.end());

const AT_MS = Date.parse('2025-03-10T12:00:00.250Z');
const AT_ISO = new Date(AT_MS).toISOString();
const AT_US = BigInt(AT_MS) * 1000n;
const DAY_US = 86_400_000_000n;
const ROWS = 300;
const RUNS = 1200;
const TIME_ZONES = ['America/New_York', 'Asia/Kathmandu', 'UTC', 'Pacific/Chatham'];

class Rollback extends Error {}

t.test('the field table lists exactly the columns of customers, with matching kinds', async (t) => {
  const { rows } = await db.query<{ column_name: string; data_type: string; udt_name: string }>(
    'test.customers-columns',
    `SELECT column_name, data_type, udt_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'customers' ORDER BY column_name`,
  );
  const kindOf = (dataType: string, udt: string): ColumnKind | string =>
    ({
      uuid: 'uuid',
      'character varying': 'text',
      text: 'text',
      integer: 'number',
      bigint: 'number',
      smallint: 'number',
      numeric: 'number',
      'timestamp with time zone': 'timestamp',
      date: 'date',
      jsonb: 'json',
      ARRAY: udt === '_text' || udt === '_varchar' ? 'text_array' : `array ${udt}`,
    })[dataType] ?? `unsupported ${dataType}`;
  const live = Object.fromEntries(rows.map((r) => [r.column_name, kindOf(r.data_type, r.udt_name)]));
  const table = Object.fromEntries([...COLUMNS.values()].map((c) => [c.name, c.kind]).sort());
  t.same(table, live, 'add a new column to services/shared/src/segments/criteria/fields.ts');
  for (const c of COLUMNS.values())
    t.match(c.name, /^[a-z_][a-z0-9_]*$/, 'column names are plain identifiers');
});

// ---------------------------------------------------------------------------------------------
// Random customers

const TOKENS = [
  'a',
  'A',
  'b',
  'B',
  'z',
  'Z',
  'é',
  'É',
  'ß',
  'ǅ',
  'İ',
  'ı',
  'ﬀ',
  '😀',
  '日本',
  "'",
  '"',
  '\\',
  '%',
  '_',
  ' ',
  '@',
  '.',
  '0',
];
const text = fc.array(fc.constantFrom(...TOKENS), { maxLength: 6 }).map((a) => a.join(''));
const orNull = <T>(arb: fc.Arbitrary<T>, freq = 4) => fc.option(arb, { freq, nil: null });

function iso(us: bigint, offsetMinutes = 0): string {
  const local = us + BigInt(offsetMinutes) * 60_000_000n;
  const ms = local / 1000n - (local % 1000n < 0n ? 1n : 0n);
  const micro = local - ms * 1000n;
  const off = Math.abs(offsetMinutes);
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(off / 60)).padStart(2, '0')}:${String(off % 60).padStart(2, '0')}`;
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${String(micro).padStart(3, '0')}${zone}`;
}
/** The microseconds below the millisecond of a rendered timestamp (Date.parse drops them). */
const micros = (s: string): bigint => BigInt(/\.\d{3}(\d{1,3})/.exec(s)?.[1]?.padEnd(3, '0') ?? '0');
const dayString = (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10);
const AT_DAY = Math.floor(AT_MS / 86_400_000);

// Instants around `at`, on the edges within_last checks (exactly a duration ago, and 1 µs either side).
const EDGES = [DAY_US, 7n * DAY_US, 30n * DAY_US, 7_200_000_000n, 5_400_000_000n, 28n * DAY_US];
const timestampUs = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: -45n * DAY_US, max: 2n * DAY_US }).map((d) => AT_US + d) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...EDGES), fc.constantFrom(-1n, 0n, 1n))
      .map(([e, d]) => AT_US - e + d),
  },
  { weight: 1, arbitrary: fc.constant(BigInt(Date.parse('1800-01-01T00:00:00Z')) * 1000n + 1n) },
);
const timestamp = fc.oneof(
  { weight: 10, arbitrary: timestampUs.map((us) => iso(us)) },
  { weight: 1, arbitrary: fc.constantFrom('infinity', '-infinity') },
);
const date = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: AT_DAY - 40, max: AT_DAY }).map(dayString) },
  { weight: 4, arbitrary: fc.integer({ min: -10_000, max: 15_000 }).map(dayString) },
  { weight: 1, arbitrary: fc.constantFrom('infinity', '-infinity', '0044-03-15 BC', '1990-05-01') },
);
const cents = (max: number) => fc.integer({ min: -max, max }).map((c) => c / 100);
const money = fc.oneof(
  { weight: 6, arbitrary: cents(100_000) },
  { weight: 3, arbitrary: fc.constantFrom(0, 0.1, 0.2, 0.3, 0.01, -0.1, 500, 499.99, 1e9) },
  { weight: 1, arbitrary: fc.constant('NaN') },
);
const ATTRIBUTE_KEYS = ['plan', 'seats', 'beta', 'score', 'Plan', 'a.b', '__proto__', "we'ird", ''];
const attributeValue = fc.oneof(
  fc.constantFrom('pro', 'PRO', 'free', '', 'Pro plan', "o'neil", '5', 'true'),
  text,
  fc.constantFrom(0, 1, 5, 0.1, -2.5, 1e21, 123456789.123),
  fc.integer({ min: -20, max: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom({ x: 1 }, [1, 'pro'], []),
);
// Object.fromEntries defines keys, so "__proto__" stays an ordinary key.
const attributes = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...ATTRIBUTE_KEYS), attributeValue), { maxLength: 5 })
      .map(Object.fromEntries),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, ['plan'], 'plan', 5) },
);
const TAGS = ['vip', 'VIP', 'b2b', 'new', "o'neil", '', 'churn-risk'];
const tags = orNull(
  fc.array(fc.option(fc.constantFrom(...TAGS), { freq: 5, nil: null }), { maxLength: 4 }),
  6,
);
const json = fc.constantFrom(null, {}, { source: 'ads' }, { utm_source: 'x' });

function customerArb(prefix: string) {
  const textColumns = [...COLUMNS.values()].filter((c) => c.kind === 'text' && c.name !== 'customer_id');
  return fc.record({
    ...Object.fromEntries(textColumns.map((c) => [c.name, orNull(text)])),
    customer_type: orNull(fc.constantFrom('premium', 'regular', 'enterprise', 'trial')),
    customer_status: orNull(fc.constantFrom('active', 'inactive', 'churned', 'suspended')),
    lifecycle_stage: orNull(
      fc.constantFrom('new', 'activated', 'engaged', 'at_risk', 'churned', 'reactivated'),
    ),
    customer_id: fc.integer({ min: 0, max: 1e9 }).map((n) => `${prefix}-${n}`),
    date_of_birth: orNull(date),
    first_seen_at: timestamp,
    ...Object.fromEntries(
      [
        'last_seen_at',
        'activated_at',
        'churned_at',
        'created_at',
        'updated_at',
        'imported_at',
        'last_calculated_at',
        'reactivated_at',
      ].map((c) => [c, orNull(timestamp)]),
    ),
    total_orders: orNull(fc.integer({ min: -5, max: 50 })),
    total_revenue: orNull(money),
    average_order_value: orNull(fc.oneof(cents(1_000_000), fc.constant('NaN'))),
    lifetime_value: orNull(money),
    days_since_last_order: orNull(fc.integer({ min: 0, max: 400 })),
    total_sessions: orNull(fc.integer({ min: 0, max: 1000 })),
    total_page_views: orNull(fc.integer({ min: 0, max: 1000 })),
    engagement_score: orNull(fc.integer({ min: 0, max: 100 })),
    churn_risk_score: orNull(fc.integer({ min: 0, max: 100 })),
    custom_attributes: attributes,
    tags,
    utm_parameters: json,
    external_ids: json,
    trait_times: fc.constantFrom({}, { email: '2025-01-01T00:00:00Z' }),
  });
}

// ---------------------------------------------------------------------------------------------
// Random criteria, drawn from the customers' own values so matches are neither none nor all

const asciiSwap = (s: string) =>
  s.replace(/[a-zA-Z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

// Needles where A-Z folding and full Unicode case mapping part ways (É/é, ß/SS, İ/i̇, ı/I, ǅ/ǆ).
const CASE_TRAPS = ['', 'a', 'A', 'é', 'É', 'ß', 'SS', 'ss', 'i', 'I', 'İ', 'ı', 'ǆ', 'ǅ', 'Ǆ', 'ﬀ', 'FF'];

/** Whole values in several cases, for = and in. */
function textPool(values: unknown[]): string[] {
  const out: string[] = [...CASE_TRAPS];
  for (const v of values) {
    if (typeof v === 'string') out.push(v, asciiSwap(v), v.toUpperCase(), v.toLowerCase());
  }
  return uniq(out);
}

/** Prefixes, suffixes and inner pieces of 1-3 characters, in several cases, for contains and friends. */
function needlePool(values: unknown[]): string[] {
  const out: string[] = [...CASE_TRAPS];
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const cps = [...v];
    for (const n of [1, 2, 3]) {
      for (const piece of [cps.slice(0, n), cps.slice(-n), cps.slice(1, 1 + n)]) {
        const s = piece.join('');
        out.push(s, asciiSwap(s), s.toUpperCase());
      }
    }
  }
  return uniq(out);
}

function criteriaArb(rows: CustomerJson[]) {
  const values = (column: string) => rows.map((r) => r[column]);
  const pick = <T>(xs: T[]) => fc.constantFrom(...xs);
  const list = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 4 });
  const sortedPair = (arb: fc.Arbitrary<number>) =>
    fc.tuple(arb, arb).map(([a, b]) => (a <= b ? [a, b] : [b, a]));
  const leaf = (
    field: fc.Arbitrary<string>,
    operator: fc.Arbitrary<string>,
    value?: fc.Arbitrary<unknown>,
    type?: string,
  ) =>
    fc.record({
      field,
      operator,
      ...(value ? { value } : {}),
      ...(type ? { type: fc.constantFrom(type, type.toUpperCase()) } : {}),
    });
  const nullOps = fc.constantFrom('is_null', 'is_not_null', 'IS NULL', 'is not null');
  const byKind = (kind: ColumnKind) =>
    [...COLUMNS.values()].filter((c) => c.kind === kind).map((c) => c.name);

  const textLeaf = (column: string, values: unknown[]) => {
    const pool = pick(textPool(values));
    const needles = pick(needlePool(values));
    const field = fc.constant(column);
    return fc.oneof(
      leaf(field, fc.constantFrom('=', '!=', 'eq', '<>'), fc.oneof(pool, needles)),
      leaf(field, fc.constantFrom('in', 'not_in', 'NOT IN'), list(pool)),
      {
        weight: 3,
        arbitrary: leaf(
          field,
          fc.constantFrom('contains', 'starts_with', 'ends_with', ' Contains '),
          needles,
        ),
      },
      leaf(field, nullOps),
    );
  };
  const textLeaves = byKind('text').map((c) => textLeaf(c, values(c)));
  const ids = values('id') as string[];
  const idLeaf = textLeaf('id', ids.slice(0, 30));

  const numberPool = (column: string): number[] => {
    const nums = values(column).filter((v): v is number => typeof v === 'number');
    return uniq([
      0,
      0.1,
      0.3,
      0.30000000000000004,
      -0.005,
      1e21,
      ...nums.flatMap((n) => [n, n + 0.01, n - 0.005]),
    ]);
  };
  const numberLeaf = (field: fc.Arbitrary<string>, pool: number[], type?: string) =>
    fc.oneof(
      leaf(field, fc.constantFrom('=', '!=', '>', '>=', '<', '<=', 'gt', 'lte'), pick(pool), type),
      leaf(field, fc.constant('between'), sortedPair(pick(pool)), type),
      leaf(field, fc.constantFrom('in', 'not_in'), list(pick(pool)), type),
      leaf(field, nullOps),
    );
  const numberLeaves = byKind('number').map((c) => numberLeaf(fc.constant(c), numberPool(c)));

  const OFFSETS = [0, 0, -300, 330, 765, -720];
  const instantValue = (us: fc.Arbitrary<bigint>) =>
    fc.tuple(us, fc.constantFrom(...OFFSETS)).map(([u, off]) => iso(u, off));
  // The instants of the rows' values that Date.parse reads (4-digit years AD, not infinity).
  const rowInstants = (kind: 'timestamp' | 'date') =>
    rows.flatMap((r) =>
      byKind(kind).flatMap((c) => {
        const v = r[c];
        if (typeof v !== 'string' || !/^\d{4}-/.test(v) || v.endsWith(' BC')) return [];
        const ms = Date.parse(kind === 'date' ? `${v}T00:00:00Z` : v);
        return Number.isNaN(ms) ? [] : [BigInt(ms) * 1000n + (kind === 'date' ? 0n : micros(v))];
      }),
    );
  const nearby = (pool: bigint[]) =>
    fc
      .tuple(fc.constantFrom(...pool), fc.constantFrom(0n, 0n, 1n, -1n, 1000n, DAY_US / 2n))
      .map(([u, d]) => u + d);
  const DURATIONS = [
    '1 day',
    '7 days',
    '30 days',
    '2 hours',
    '90 minutes',
    '1 week',
    '4 weeks',
    '10 days',
    '1 minute',
    '28 days',
  ];
  const instantLeaf = (column: string, pool: bigint[], bareDates: string[]) => {
    const value = fc.oneof(
      { weight: 5, arbitrary: instantValue(nearby(pool)) },
      { weight: 1, arbitrary: pick(bareDates) },
    );
    return fc.oneof(
      leaf(fc.constant(column), fc.constantFrom('=', '!=', '>', '>=', '<', '<='), value),
      leaf(
        fc.constant(column),
        fc.constant('between'),
        fc
          .tuple(nearby(pool), nearby(pool))
          .map(([a, b]) => (a <= b ? [iso(a, 330), iso(b)] : [iso(b), iso(a, -300)])),
      ),
      leaf(fc.constant(column), fc.constantFrom('within_last', 'not_within_last'), pick(DURATIONS)),
      leaf(fc.constant(column), nullOps),
    );
  };
  const tsPool = uniq([...rowInstants('timestamp'), ...EDGES.map((e) => AT_US - e)]);
  const datePool = uniq(rowInstants('date'));
  const bareDates = uniq(
    rows
      .map((r) => r.date_of_birth)
      .filter((d): d is string => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d)),
  );
  const timestampLeaves = byKind('timestamp').map((c) => instantLeaf(c, tsPool, bareDates));
  const dateLeaf = instantLeaf('date_of_birth', datePool, bareDates);

  const tagLeaf = fc.oneof(
    leaf(fc.constant('tags'), fc.constant('contains'), pick(TAGS)),
    leaf(fc.constant('tags'), fc.constantFrom('in', 'not_in'), list(pick([...TAGS, 'x']))),
    leaf(fc.constant('tags'), nullOps),
  );
  const jsonLeaf = leaf(pick(byKind('json')), nullOps);

  const attrValues = rows.flatMap((r) => {
    const a = r.custom_attributes;
    return a && typeof a === 'object' && !Array.isArray(a) ? Object.values(a) : [];
  });
  const attrField = pick([...ATTRIBUTE_KEYS.filter((k) => k !== ''), 'missing']).map(
    (k) => `custom_attributes.${k}`,
  );
  // Strings that other JSON types of the same key read as text: "5" against 5, "true" against true.
  const attrStrings = pick(
    uniq(['5', 'true', '0', '1', '-2.5', '1e+21', 'pro', 'PRO', '', ...textPool(attrValues)]),
  );
  const attrNumbers = pick(
    uniq([0, 1, 5, 0.1, -2.5, 1e21, 3, ...attrValues.filter((v): v is number => typeof v === 'number')]),
  );
  const attrLeaf = fc.oneof(
    textLeaf('custom_attributes.plan', attrValues),
    leaf(attrField, fc.constantFrom('=', '!=', 'eq'), attrStrings),
    leaf(attrField, fc.constantFrom('in', 'not_in'), list(attrStrings)),
    leaf(attrField, fc.constantFrom('contains', 'starts_with', 'ends_with'), attrStrings, 'string'),
    leaf(attrField, fc.constantFrom('=', '!=', 'in'), attrNumbers.map(String), 'string').map((c) =>
      c.operator === 'in' ? { ...c, value: [c.value] } : c,
    ),
    numberLeaf(attrField, [0, 1, 5, 0.1, -2.5, 1e21, 3]),
    leaf(attrField, fc.constantFrom('=', '!=', '>', '<='), attrNumbers, 'number'),
    leaf(attrField, fc.constantFrom('=', '!=', '==', 'not_equals'), fc.boolean()),
    leaf(attrField, fc.constantFrom('=', '!='), fc.boolean(), 'boolean'),
    leaf(attrField, nullOps),
  );

  const anyLeaf = fc.oneof(
    { weight: 4, arbitrary: fc.oneof(...textLeaves, idLeaf) },
    { weight: 3, arbitrary: fc.oneof(...numberLeaves) },
    { weight: 4, arbitrary: fc.oneof(...timestampLeaves) },
    { weight: 2, arbitrary: dateLeaf },
    { weight: 2, arbitrary: tagLeaf },
    { weight: 1, arbitrary: jsonLeaf },
    { weight: 4, arbitrary: attrLeaf },
  );
  const group = (depth: number): fc.Arbitrary<Record<string, unknown>> =>
    fc.record(
      {
        conditions: fc.array(anyLeaf, { maxLength: 3 }),
        logic: fc.constantFrom('AND', 'OR', 'or', ' And '),
        nested_conditions: depth >= 3 ? fc.constant([]) : fc.array(group(depth + 1), { maxLength: 2 }),
      },
      { requiredKeys: ['conditions'] },
    );
  const legacy = fc.record(
    {
      country: fc.oneof(pick(textPool(values('country'))), list(pick(textPool(values('country'))))),
      customer_type: list(pick(['premium', 'regular', 'enterprise', 'trial'])),
      custom_attributes: fc.record(
        { plan: list(pick(['pro', 'free', 'PRO'])), beta: fc.boolean() },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    {
      weight: 1,
      arbitrary: fc.oneof(
        anyLeaf.map((c) => ({ conditions: [c] })),
        legacy,
      ),
    },
    { weight: 3, arbitrary: group(0) },
  );
}

// ---------------------------------------------------------------------------------------------

async function insertCustomers(tx: Tx, prefix: string): Promise<string[]> {
  const generated = fc.sample(customerArb(prefix), { seed: FUZZ_SEED, numRuns: ROWS });
  const ids = generated.map(() => randomUUID());
  const rows: Record<string, unknown>[] = generated.map((r, i) => ({
    ...r,
    id: ids[i],
    customer_id: `${r.customer_id}-${i}`,
  }));
  // Fixed oddities next to the random ones: a 2-D tags array, jsonb holding JSON null (which
  // jsonb_populate_recordset cannot write), and the extremes of the ranges.
  rows[0] = {
    ...rows[0]!,
    tags: [
      ['vip', 'b2b'],
      ['new', null],
    ] as unknown as string[],
  };
  rows[1] = { ...rows[1]!, date_of_birth: '4713-11-24 BC', last_seen_at: '4713-11-24 00:00:00+00 BC' };
  rows[2] = { ...rows[2]!, last_seen_at: '294276-12-31T23:59:59.999999Z', date_of_birth: '5874897-12-31' };
  await tx.query(
    'test.criteria-insert',
    `INSERT INTO customers SELECT * FROM jsonb_populate_recordset(NULL::customers, $1::jsonb)`,
    [JSON.stringify(rows)],
  );
  const nulls = ids.slice(3, 6);
  await tx.query(
    'test.criteria-json-null',
    `UPDATE customers SET utm_parameters = 'null'::jsonb, custom_attributes = 'null'::jsonb WHERE id = ANY($1::uuid[])`,
    [nulls],
  );
  return ids;
}

async function rowsAsJson(tx: Tx, ids: string[]): Promise<CustomerJson[]> {
  const { rows } = await tx.query<{ j: CustomerJson }>(
    'test.criteria-rows',
    'SELECT to_jsonb(c) AS j FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id',
    [ids],
  );
  return rows.map((r) => r.j);
}

t.test('compileSql and compilePredicate select the same customers', async (t) => {
  const prefix = randomName('crit');
  const stats = { none: 0, some: 0, all: 0, timeRelative: 0, plpgsql: 0 };
  try {
    await db.transaction('test.criteria-agreement', async (tx) => {
      const ids = await insertCustomers(tx, prefix);
      // Rendered in a zone whose offsets before 1883 carry seconds (-04:56:02).
      await tx.query('test.tz', `SET LOCAL TimeZone = 'America/New_York'`);
      const rows = await rowsAsJson(tx, ids);
      await tx.query('test.tz', `SET LOCAL TimeZone = 'Asia/Kathmandu'`);
      const elsewhere = await rowsAsJson(tx, ids);
      t.equal(rows.length, ROWS);
      t.not(JSON.stringify(rows), JSON.stringify(elsewhere), 'the two renderings differ in their offsets');

      await tx.query(
        'test.criteria-fn',
        `CREATE FUNCTION pg_temp.segment_ids(where_sql text, params jsonb, at timestamptz) RETURNS SETOF uuid
         LANGUAGE plpgsql AS $fn$
         BEGIN
           RETURN QUERY EXECUTE 'SELECT c.id FROM customers c WHERE ' || where_sql USING params, at;
         END $fn$`,
      );

      let run = 0;
      await fc.assert(
        fc.asyncProperty(criteriaArb(rows), async (input) => {
          const parsed = parseCriteria(input);
          if (!parsed.ok) throw new Error(`the generator made refused criteria: ${parsed.error}`);
          const { where, params, timeRelative } = compileSql(parsed.criteria);
          const predicate = compilePredicate(parsed.criteria);
          const timeZone = TIME_ZONES[run++ % TIME_ZONES.length]!;
          const values = [JSON.stringify(params), AT_ISO, ids];

          await tx.query('test.savepoint', 'SAVEPOINT criterion');
          let sqlIds: Set<string>;
          try {
            await tx.query('test.tz', `SET LOCAL TimeZone = '${timeZone}'`);
            const selected = await tx.query<{ id: string }>(
              'test.criteria-select',
              `SELECT c.id FROM customers c WHERE c.id = ANY($3::uuid[]) AND ${where}`,
              values,
            );
            sqlIds = new Set(selected.rows.map((r) => r.id));
            if (run % 16 === 0 || (timeRelative && stats.plpgsql < 3)) {
              const viaPlpgsql = await tx.query<{ id: string }>(
                'test.criteria-plpgsql',
                `SELECT s.id FROM pg_temp.segment_ids($1, $2::jsonb, $3::timestamptz) AS s(id) WHERE s.id = ANY($4::uuid[])`,
                [where, JSON.stringify(params), AT_ISO, ids],
              );
              const plIds = new Set(viaPlpgsql.rows.map((r) => r.id));
              if (plIds.size !== sqlIds.size || [...plIds].some((id) => !sqlIds.has(id))) {
                throw new Error(
                  `plpgsql EXECUTE ... USING selected other rows than node-postgres for\n${where}`,
                );
              }
              stats.plpgsql++;
            }
            await tx.query('test.savepoint', 'RELEASE SAVEPOINT criterion');
          } catch (e) {
            await tx.query('test.savepoint', 'ROLLBACK TO SAVEPOINT criterion');
            throw new Error(
              `SQL failed: ${(e as Error).message}\nwhere: ${where}\nparams: ${JSON.stringify(params)}`,
            );
          }

          const disagreements = rows.filter((row) => predicate(row, AT_MS) !== sqlIds.has(row.id as string));
          const otherRendering = elsewhere.filter(
            (row) => predicate(row, AT_MS) !== sqlIds.has(row.id as string),
          );
          if (disagreements.length > 0 || otherRendering.length > 0) {
            const shown = (disagreements.length > 0 ? disagreements : otherRendering).slice(0, 3);
            throw new Error(
              [
                `SQL and JS disagree on ${disagreements.length} rows (${otherRendering.length} as rendered in Asia/Kathmandu), TimeZone ${timeZone}`,
                `criteria: ${JSON.stringify(input)}`,
                `where: ${where}`,
                `params: ${JSON.stringify(params)}`,
                ...shown.map(
                  (row) =>
                    `row (SQL ${sqlIds.has(row.id as string)}, JS ${predicate(row, AT_MS)}): ${JSON.stringify(row)}`,
                ),
              ].join('\n'),
            );
          }
          const n = sqlIds.size;
          if (n === 0) stats.none++;
          else if (n === ROWS) stats.all++;
          else stats.some++;
          if (timeRelative) stats.timeRelative++;
        }),
        { seed: FUZZ_SEED, numRuns: RUNS, includeErrorInReport: true },
      );
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  t.comment(
    `selected none: ${stats.none}, some: ${stats.some}, all: ${stats.all}; time-relative: ${stats.timeRelative}; via plpgsql: ${stats.plpgsql}`,
  );
  t.ok(
    stats.some >= RUNS * 0.3,
    `many criteria select some but not all customers (${stats.some} of ${RUNS})`,
  );
  t.ok(stats.timeRelative >= 20, 'within_last / not_within_last were exercised');
  t.ok(stats.plpgsql >= 2, 'the same where ran inside plpgsql');

  const { rows } = await db.query<{ n: number }>(
    'test.criteria-gone',
    'SELECT count(*)::int AS n FROM customers WHERE starts_with(customer_id, $1)',
    [prefix],
  );
  t.equal(rows[0]!.n, 0, 'the transaction was rolled back');
});
