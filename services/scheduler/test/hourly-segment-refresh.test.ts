/**
 * The hourly_segment_refresh handler on a private database: active segments are re-evaluated at
 * the run's instant (members of a time-relative segment leave when time passes), the others are
 * left alone, a rejected segment is skipped, a failing one does not stop the rest, and an aborted
 * signal stops it between segments.
 */
import t from 'tap';
import pg from 'pg';
import type { Db } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { logger } from '../../shared/test/support.js';
import type { JobContext } from '../src/jobs/handler.js';
import { hourlySegmentRefresh } from '../src/jobs/hourly-segment-refresh.js';
import { defineSegment } from '../../shared/src/segments/definition.js';
import {
  lockSegment,
  pendingSegments,
  storeDefinition,
} from '../../shared/src/segments/definitions-store.js';
import { testDb } from './support.js';

let server: PrivatePostgres;
let admin: pg.Pool;
let db: Db;
let owner: string;

t.before(async () => {
  server = await startPrivatePostgres();
  admin = new pg.Pool({ connectionString: server.url, max: 2 });
  db = testDb(server.url);
  const { rows } = await admin.query<{ id: string }>(
    "INSERT INTO platform_users (email, password_hash, name, role) VALUES ('owner@example.test', 'x', 'Owner', 'viewer') RETURNING id",
  );
  owner = rows[0]!.id;
  await admin.query(
    `INSERT INTO customers (customer_id, first_seen_at, country)
     VALUES ('c-us-1', now(), 'US'), ('c-us-2', now(), 'US'), ('c-ca-1', now(), 'CA')`,
  );
});
t.teardown(async () => {
  await db?.end();
  await admin?.end();
  await server?.destroy();
});

async function segment(
  name: string,
  type: string,
  active: boolean,
  criteria: unknown,
  sqlQuery: string | null = null,
): Promise<string> {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO segments (name, segment_type, is_active, criteria, sql_query, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [name, type, active, JSON.stringify(criteria), sqlQuery, owner],
  );
  await compile();
  return rows[0]!.id;
}

/** What the segments processor does first with a new segment: its definition (no evaluation). */
async function compile(): Promise<void> {
  for (const id of await pendingSegments(db, 1_000))
    await db.transaction('test.define', async (tx) => {
      const segment = await lockSegment(tx, id);
      if (segment?.pending) await storeDefinition(tx, id, defineSegment(segment));
    });
}

const members = async (id: string) =>
  Number(
    (
      await admin.query('SELECT count(*) AS n FROM segment_memberships WHERE segment_id = $1 AND is_active', [
        id,
      ])
    ).rows[0].n,
  );
const refreshed = async (id: string) =>
  (await admin.query('SELECT last_refreshed_at FROM segments WHERE id = $1', [id])).rows[0]
    .last_refreshed_at !== null;

const ctx = (
  signal = new AbortController().signal,
  config: Record<string, unknown> = { refresh_dynamic_segments: true },
): JobContext => ({
  db,
  now: new Date(),
  signal,
  logger,
  config,
  attempt: 1,
});

t.test('active dynamic segments are refreshed; inactive and static ones are not', async (t) => {
  const us = await segment('US', 'dynamic', true, { country: 'US' });
  const ca = await segment('CA', 'dynamic', true, {
    conditions: [{ field: 'country', operator: '=', value: 'CA' }],
    logic: 'AND',
  });
  const off = await segment('off', 'dynamic', false, { country: 'US' });
  const hand = await segment('static', 'static', true, { country: 'US' });

  const result = await hourlySegmentRefresh(server.url)(ctx());
  t.same(result, { summary: '2 segments refreshed, 3 members in all' });
  t.equal(await members(us), 2);
  t.equal(await members(ca), 1);
  t.equal(await members(off), 0, 'inactive: not evaluated');
  t.equal(await refreshed(off), false);
  t.equal(await refreshed(hand), false, 'static: not touched');

  await admin.query("UPDATE customers SET country = 'CA' WHERE customer_id = 'c-us-2'");
  await hourlySegmentRefresh(server.url)(ctx());
  t.equal(await members(us), 1, 'a customer who no longer qualifies leaves');
  t.equal(await members(ca), 2, 'and joins the other');
  const { rows: kept } = await admin.query(
    `SELECT m.is_active, m.removed_at IS NOT NULL AS removed FROM segment_memberships m
     JOIN customers c ON c.id = m.customer_id WHERE m.segment_id = $1 AND c.customer_id = 'c-us-2'`,
    [us],
  );
  t.same(kept, [{ is_active: false, removed: true }], 'who left keeps the row, inactive');
  await admin.query('UPDATE segments SET is_active = false');
});

t.test('a time-relative segment loses its member when the run is later', async (t) => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  await admin.query(
    "INSERT INTO customers (customer_id, first_seen_at, last_seen_at) VALUES ('c-recent', $1, $1)",
    [new Date(now - 29 * 86_400_000)],
  );
  const recent = await segment('seen in 30 days', 'dynamic', true, {
    conditions: [{ field: 'last_seen_at', operator: 'within_last', value: '30 days' }],
  });
  await hourlySegmentRefresh(server.url)({ ...ctx(), now: new Date(now) });
  t.equal(await members(recent), 1, 'seen 29 days before the run: a member');
  await hourlySegmentRefresh(server.url)({ ...ctx(), now: new Date(now + 86_400_000 / 2) });
  t.equal(await members(recent), 1, 'half a day later: still');
  await hourlySegmentRefresh(server.url)({ ...ctx(), now: new Date(now + 2 * 86_400_000) });
  t.equal(await members(recent), 0, 'two days later: 31 days ago, gone');
  const { rows } = await admin.query(
    'SELECT entered, changed_at FROM segment_membership_changes WHERE segment_id = $1 ORDER BY id',
    [recent],
  );
  // Stamped at the run's instant plus the time the run had taken (milliseconds here).
  const near = (at: Date, instant: number) => at.getTime() >= instant && at.getTime() < instant + 60_000;
  t.same(
    rows.map((r) => r.entered),
    [true, false],
    'one entry and one exit journaled',
  );
  t.ok(
    near(rows[0].changed_at, now) && near(rows[1].changed_at, now + 2 * 86_400_000),
    "at the runs' instants",
  );
  await admin.query('UPDATE segments SET is_active = false');
});

t.test('rejected criteria are skipped; a failing sql_query fails the run after the others', async (t) => {
  const bad = await segment('bad', 'dynamic', true, {
    conditions: [{ field: 'no_such_column', operator: '=', value: 1 }],
  });
  const { rows: error } = await admin.query('SELECT criteria_error FROM segments WHERE id = $1', [bad]);
  t.match(error[0].criteria_error, /no_such_column/, 'the reason is stored on the segment');
  const sneaky = await segment('reads users', 'calculated', true, {}, 'SELECT id FROM platform_users');
  const good = await segment('good', 'dynamic', true, { country: 'CA' });
  const canada = await segment(
    'sql canada',
    'calculated',
    true,
    {},
    "SELECT id FROM customers WHERE country = 'CA'",
  );
  await t.rejects(
    hourlySegmentRefresh(server.url)(ctx()),
    /1 of 4 segments failed.*permission denied for table platform_users/,
  );
  t.equal(await members(good), 2, 'the good one was refreshed');
  t.equal(await members(canada), 2, 'an sql_query segment runs, as the read-only role');
  await admin.query('UPDATE segments SET is_active = false WHERE id = ANY ($1)', [[bad, sneaky]]);
  t.same(await hourlySegmentRefresh(server.url)(ctx()), {
    summary: '2 segments refreshed, 4 members in all',
  });
  await admin.query('UPDATE segments SET is_active = false');
});

t.test('an aborted signal stops it before the next segment; the config can turn it off', async (t) => {
  await segment('one more', 'dynamic', true, { country: 'US' });
  const controller = new AbortController();
  controller.abort(new Error('timed out'));
  await t.rejects(hourlySegmentRefresh(server.url)(ctx(controller.signal)), /timed out/);
  t.same(await hourlySegmentRefresh(server.url)(ctx(undefined, { refresh_dynamic_segments: false })), {
    summary: 'refresh_dynamic_segments is false: nothing done',
  });
});
