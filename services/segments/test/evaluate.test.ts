/**
 * The segments' own lifecycle, with the processor's background running on a private PostgreSQL:
 * a new segment is evaluated within seconds of its INSERT (NOTIFY, not the poll), an edit
 * re-evaluates it (leavers keep their row, inactive), hostile criteria are refused with the reason
 * stored on the segment, static segments are left alone, sql_query segments run as the read-only
 * role under the statement timeout, a deleted customer's exits are published, and the statistics
 * follow the members.
 */
import t from 'tap';
import type { Db } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { logger, randomName, waitFor } from '../../shared/test/support.js';
import { createSegmentsMetrics } from '../src/metrics.js';
import { startSegmentsBackground, type SegmentsBackground } from '../src/background.js';
import { activeMembers, codec, makeSegment, privateDb, testFeed } from './support.js';
import { Registry } from 'prom-client';

let server: PrivatePostgres;
let db: Db;
let background: SegmentsBackground;
let prefix: string;
let topic: string;

t.before(async () => {
  server = await startPrivatePostgres();
  db = privateDb(server.url);
  prefix = `${randomName('test-sege')}.`;
  const feed = await testFeed(prefix);
  topic = feed.topic;
  await db.query(
    'test.customers',
    `INSERT INTO customers (customer_id, first_seen_at, country, email, lifetime_value, engagement_score, lifecycle_stage)
     VALUES ('us-1', now(), 'US', 'one@example.com', 100, 50, 'engaged'),
            ('us-2', now(), 'US', 'two@example.com', 300, 10, 'churned'),
            ('ca-1', now(), 'CA', 'three@example.org', 50, 90, 'new')`,
  );
  background = startSegmentsBackground({
    db,
    feed,
    // A poll of a minute: what happens within seconds was noticed through NOTIFY.
    config: { pollMs: 60_000, queryTimeoutMs: 1_000, statsIntervalMs: 200, databaseUrl: server.url },
    logger,
    metrics: createSegmentsMetrics(new Registry()),
    now: () => new Date(),
    wakeRelay: () => {},
  });
});
t.teardown(async () => {
  await background?.stop();
  await db?.end();
  await server?.destroy();
});

const customerIds = async (...externalIds: string[]) =>
  (
    await db.query<{ id: string }>(
      'test.ids',
      'SELECT id FROM customers WHERE customer_id = ANY ($1) ORDER BY customer_id',
      [externalIds],
    )
  ).rows.map((r) => r.id);

const segmentRow = async (id: string) =>
  (await db.query('test.segment-row', 'SELECT * FROM segments WHERE id = $1', [id])).rows[0]!;

const evaluated = (id: string) =>
  waitFor(`segment ${id} evaluated`, async () => {
    const { rows } = await db.query(
      'test.evaluated',
      `SELECT d.evaluated_at IS NOT NULL OR s.criteria_error IS NOT NULL OR d.kind = 'static' AS done,
              s.criteria_error
       FROM segment_definitions d JOIN segments s ON s.id = d.segment_id
       WHERE d.segment_id = $1 AND d.source = segment_source(s)`,
      [id],
    );
    return rows[0]?.done ? rows[0] : undefined;
  });

/** The published transitions of a segment, as `ENTERED customer_id` lines in order. */
async function published(segment: string): Promise<string[]> {
  const { rows } = await db.query<{ record_value: Buffer }>(
    'test.published',
    'SELECT record_value FROM outbox WHERE topic = $1 ORDER BY id',
    [topic],
  );
  const lines: string[] = [];
  for (const r of rows) {
    const v = (await codec.decode(r.record_value)) as {
      segmentId: string;
      externalId: string;
      change: string;
    };
    if (v.segmentId === segment) lines.push(`${v.change} ${v.externalId}`);
  }
  return lines;
}

t.test('a new segment is evaluated within seconds; an edit re-evaluates it', async (t) => {
  const id = await makeSegment(db, {
    name: 'US',
    criteria: { conditions: [{ field: 'country', operator: '=', value: 'US' }] },
  });
  await evaluated(id);
  t.same(await activeMembers(db, [id]), (await customerIds('us-1', 'us-2')).map((c) => `${id}|${c}`).sort());
  const s = await segmentRow(id);
  t.equal(s.customer_count, 2);
  t.equal(Number(s.average_ltv), 200, 'average_ltv of the members');
  t.equal(Number(s.churn_rate), 0.5, 'one of the two is churned');
  t.ok(
    s.last_refreshed_at && (s.next_refresh_at as Date) > (s.last_refreshed_at as Date) && s.refresh_duration,
    'refresh times kept',
  );

  await db.query('test.edit', 'UPDATE segments SET criteria = $2 WHERE id = $1', [
    id,
    JSON.stringify({ conditions: [{ field: 'email', operator: 'ends_with', value: '@EXAMPLE.org' }] }),
  ]);
  await waitFor('re-evaluated', async () => (await activeMembers(db, [id])).length === 1);
  const { rows } = await db.query(
    'test.rows',
    `SELECT c.customer_id, m.is_active, m.removed_at IS NOT NULL AS removed
     FROM segment_memberships m JOIN customers c ON c.id = m.customer_id WHERE m.segment_id = $1 ORDER BY 1`,
    [id],
  );
  t.same(rows, [
    { customer_id: 'ca-1', is_active: true, removed: false },
    { customer_id: 'us-1', is_active: false, removed: true },
    { customer_id: 'us-2', is_active: false, removed: true },
  ]);
  t.same((await segmentRow(id)).customer_count_change, -1, 'count change since the last refresh');
  await waitFor('published', async () => (await published(id)).length === 5);
  t.same((await published(id)).slice(0, 2).sort(), ['ENTERED us-1', 'ENTERED us-2']);
  t.same((await published(id)).slice(2).sort(), ['ENTERED ca-1', 'EXITED us-1', 'EXITED us-2']);
  await db.query('test.off', 'UPDATE segments SET is_active = false WHERE id = $1', [id]);
});

const HOSTILE: [string, unknown, RegExp][] = [
  [
    'an SQL fragment as a field',
    { conditions: [{ field: 'email" OR 1=1 --', operator: '=', value: 'x' }] },
    /unknown field/,
  ],
  [
    'a statement as a field',
    { conditions: [{ field: 'total_revenue; DROP TABLE customers', operator: '>', value: 1 }] },
    /unknown field/,
  ],
  [
    'an SQL fragment as an operator',
    { conditions: [{ field: 'email', operator: "= '' OR 1=1 --", value: 'x' }] },
    /unknown operator/,
  ],
  ['an SQL fragment as the logic', { logic: 'OR 1=1', conditions: [] }, /logic/],
  ['a legacy key that is SQL', { "country = 'US' OR 1": 'x' }, /unknown field/],
  ['absurd nesting', deep(5_000), /deep|depth|nest/],
  [
    'a month-long duration',
    { conditions: [{ field: 'last_seen_at', operator: 'within_last', value: '1 month' }] },
    /month|unit/,
  ],
  ['ordering text', { conditions: [{ field: 'email', operator: '>', value: 'a' }] }, /email|text|>/],
];

/** As JSON text: JSON.stringify itself overflows the stack long before. */
function deep(depth: number): { json: string } {
  const leaf = JSON.stringify({ conditions: [{ field: 'country', operator: '=', value: 'US' }] });
  return { json: '{"nested_conditions":['.repeat(depth) + leaf + ']}'.repeat(depth) };
}

t.test(
  'hostile criteria are refused with the reason on the segment; SQL in values is only data',
  async (t) => {
    for (const [what, criteria, reason] of HOSTILE) {
      const id = await makeSegment(db, { name: what, criteria });
      const done = await evaluated(id);
      t.match(done.criteria_error, reason, `${what}: ${String(done.criteria_error).slice(0, 120)}`);
      t.same(await activeMembers(db, [id]), [], `${what}: no members`);
    }
    const data = await makeSegment(db, {
      name: 'sql in a value',
      criteria: { conditions: [{ field: 'email', operator: '=', value: "x'); DELETE FROM customers; --" }] },
    });
    const done = await evaluated(data);
    t.equal(done.criteria_error, null, 'accepted: it is a value');
    t.same(await activeMembers(db, [data]), [], 'matching no one');
    t.equal((await customerIds('us-1', 'us-2', 'ca-1')).length, 3, 'and customers are intact');
    await db.query('test.off', "UPDATE segments SET is_active = false WHERE name <> 'static'");
  },
);

t.test('a static segment keeps its hand-made members', async (t) => {
  const [ca] = await customerIds('ca-1');
  const id = await makeSegment(db, {
    name: 'static',
    type: 'static',
    criteria: { conditions: [{ field: 'country', operator: '=', value: 'US' }] },
  });
  await db.query('test.hand', 'INSERT INTO segment_memberships (segment_id, customer_id) VALUES ($1, $2)', [
    id,
    ca,
  ]);
  await evaluated(id);
  t.same(await activeMembers(db, [id]), [`${id}|${ca}`], 'not evaluated: the criteria say US');
  await db.query('test.off', 'UPDATE segments SET is_active = false WHERE id = $1', [id]);
});

t.test('sql_query segments run as the read-only role, under the statement timeout', async (t) => {
  const us = await makeSegment(db, {
    name: 'sql US',
    type: 'calculated',
    criteria: {},
    sqlQuery: "SELECT id FROM customers WHERE country = 'US'",
  });
  t.equal((await evaluated(us)).criteria_error, null);
  t.equal((await activeMembers(db, [us])).length, 2);

  const refused: [string, string, RegExp][] = [
    ['reads the users', 'SELECT id FROM platform_users', /permission denied for table platform_users/],
    ['writes', 'WITH d AS (DELETE FROM customers RETURNING id) SELECT id FROM d', /data-modifying|top level/],
    [
      'two statements',
      'SELECT id FROM customers) q; DELETE FROM customers; SELECT id FROM (SELECT id FROM customers',
      /does not return tuples|syntax|multiple|cannot/,
    ],
    [
      'takes its role back',
      "SELECT id FROM customers WHERE set_config('role', 'postgres', true) IS NOT NULL",
      /cannot set parameter .* within security-definer function/,
    ],
    ['runs for ever', 'SELECT id FROM customers, pg_sleep(5) AS s', /statement timeout/],
  ];
  for (const [what, sql, reason] of refused) {
    const id = await makeSegment(db, { name: what, type: 'calculated', criteria: {}, sqlQuery: sql });
    const done = await evaluated(id);
    t.match(done.criteria_error, reason, `${what}: ${String(done.criteria_error).slice(0, 120)}`);
    t.same(await activeMembers(db, [id]), [], `${what}: no members`);
  }
  t.equal((await customerIds('us-1', 'us-2', 'ca-1')).length, 3, 'customers are intact');

  // What a query does to its session ends with it: a session advisory lock on the evaluation lock
  // (which would hold every incremental batch) and a search_path that would break later queries.
  const polluting = await makeSegment(db, {
    name: 'pollutes its session',
    type: 'calculated',
    criteria: {},
    sqlQuery: `SELECT id FROM customers WHERE pg_advisory_lock(segment_evaluation_lock_key()) IS NOT NULL
               AND set_config('search_path', 'pg_catalog', false) IS NOT NULL`,
  });
  t.equal((await evaluated(polluting)).criteria_error, null);
  t.equal((await activeMembers(db, [polluting])).length, 3);
  const { rows: locks } = await db.query(
    'test.locks',
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted",
  );
  t.equal(locks[0]!.n, 0, 'no advisory lock outlives the query');
  const after = await makeSegment(db, {
    name: 'evaluated after it',
    criteria: { conditions: [{ field: 'country', operator: '=', value: 'CA' }] },
  });
  t.equal((await evaluated(after)).criteria_error, null, 'and the next segment is evaluated as usual');
  t.equal((await activeMembers(db, [after])).length, 1);
  await db.query('test.off', 'UPDATE segments SET is_active = false');
});

t.test("a deleted customer's exit is published; the statistics follow", async (t) => {
  const id = await makeSegment(db, {
    name: 'everyone',
    criteria: { conditions: [{ field: 'customer_id', operator: 'is_not_null' }] },
  });
  await evaluated(id);
  t.equal((await segmentRow(id)).customer_count, 3);
  await db.query('test.delete', "DELETE FROM customers WHERE customer_id = 'us-2'");
  await waitFor('exit published', async () => (await published(id)).includes('EXITED null'));
  await waitFor('count follows', async () => (await segmentRow(id)).customer_count === 2);
  t.pass('published and counted');
});
