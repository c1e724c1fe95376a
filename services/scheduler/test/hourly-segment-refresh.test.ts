/**
 * The hourly_segment_refresh handler on a private database: active dynamic segments are
 * re-evaluated, the others are left alone, a broken segment does not stop the rest, and an
 * aborted signal stops it between segments.
 */
import t from 'tap';
import pg from 'pg';
import type { Db } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { logger } from '../../shared/test/support.js';
import type { JobContext } from '../src/jobs/handler.js';
import { hourlySegmentRefresh } from '../src/jobs/hourly-segment-refresh.js';
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

async function segment(name: string, type: string, active: boolean, criteria: unknown): Promise<string> {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO segments (name, segment_type, is_active, criteria, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [name, type, active, JSON.stringify(criteria), owner],
  );
  return rows[0]!.id;
}

const members = async (id: string) =>
  Number(
    (await admin.query('SELECT count(*) AS n FROM segment_memberships WHERE segment_id = $1', [id])).rows[0]
      .n,
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

  const result = await hourlySegmentRefresh(ctx());
  t.same(result, { summary: '2 dynamic segments refreshed, 3 members in all' });
  t.equal(await members(us), 2);
  t.equal(await members(ca), 1);
  t.equal(await members(off), 0, 'inactive: not evaluated');
  t.equal(await refreshed(off), false);
  t.equal(await refreshed(hand), false, 'static: not touched');

  await admin.query("UPDATE customers SET country = 'CA' WHERE customer_id = 'c-us-2'");
  await hourlySegmentRefresh(ctx());
  t.equal(await members(us), 1, 'a customer who no longer qualifies leaves');
  t.equal(await members(ca), 2, 'and joins the other');
  await admin.query('UPDATE segments SET is_active = false');
});

t.test('a broken segment fails the run, after the others were refreshed', async (t) => {
  const bad = await segment('bad', 'dynamic', true, {
    conditions: [{ field: 'no_such_column', operator: '=', value: 1 }],
  });
  const good = await segment('good', 'dynamic', true, { country: 'CA' });
  await t.rejects(hourlySegmentRefresh(ctx()), /1 of 2 segments failed/);
  t.equal(await members(good), 2, 'the good one was refreshed');
  await admin.query('UPDATE segments SET is_active = false WHERE id = $1', [bad]);
});

t.test('an aborted signal stops it before the next segment; the config can turn it off', async (t) => {
  const controller = new AbortController();
  controller.abort(new Error('timed out'));
  await t.rejects(hourlySegmentRefresh(ctx(controller.signal)), /timed out/);
  t.same(await hourlySegmentRefresh(ctx(undefined, { refresh_dynamic_segments: false })), {
    summary: 'refresh_dynamic_segments is false: nothing done',
  });
});
