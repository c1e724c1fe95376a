/**
 * The migrations on an empty database of their own: every seed object is there, customer_events
 * is partitioned, the corrected sample queries run, applying twice is a no-op, and a COPY across
 * three months lands in three partitions.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../services/shared/src/pg/migrate.js';
import { createDb } from '../../services/shared/src/pg/gateway.js';
import { createRegistry } from '../../services/shared/src/metrics/registry.js';
import { repoPath } from '../../services/shared/src/repo-path.js';
import { config, logger, randomName } from '../../services/shared/test/support.js';

const SEED_TABLES = [
  'platform_users',
  'platform_user_sessions',
  'role_permissions',
  'customers',
  'customer_events',
  'customer_orders',
  'customer_order_items',
  'campaigns',
  'campaign_sends',
  'promotions',
  'promotion_redemptions',
  'cohorts',
  'cohort_memberships',
  'cohort_retention_data',
  'segments',
  'segment_memberships',
  'dashboard_configurations',
  'dashboard_tiles',
  'kpi_definitions',
  'data_connections',
  'activity_logs',
  'system_settings',
  'scheduled_jobs',
];
const SEED_VIEWS = ['customer_summary', 'campaign_performance_summary', 'daily_metrics_summary'];
const SEED_FUNCTIONS = [
  'calculate_engagement_score',
  'refresh_segment_memberships',
  'update_updated_at_column',
  'update_customer_metrics',
];

const dbName = randomName('cdp_schema_test').replace(/-/g, '_');
const admin = new pg.Client({ connectionString: config.databaseUrl });
const url = new URL(config.databaseUrl);
url.pathname = `/${dbName}`;
const testUrl = url.toString();

t.before(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
});
t.teardown(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

t.test('migrations create the seed schema, and applying again is a no-op', async (t) => {
  const first = await migrate(testUrl, logger);
  t.ok(first.length >= 10, `applied ${first.length} migrations`);
  t.same(await migrate(testUrl, logger), [], 'second run applies nothing');

  const db = createDb({
    connectionString: testUrl,
    service: 'schema-test',
    registry: createRegistry('schema-test'),
  });
  t.teardown(() => db.end());
  const tables = await db.query<{ relname: string }>(
    'test.tables',
    `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
  );
  const names = new Set(tables.rows.map((r) => r.relname));
  for (const table of SEED_TABLES) t.ok(names.has(table), `table ${table}`);
  const views = await db.query<{ viewname: string }>(
    'test.views',
    `SELECT viewname FROM pg_views WHERE schemaname = 'public'`,
  );
  for (const view of SEED_VIEWS)
    t.ok(
      views.rows.some((v) => v.viewname === view),
      `view ${view}`,
    );
  const fns = await db.query<{ proname: string }>(
    'test.functions',
    `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace`,
  );
  for (const fn of [...SEED_FUNCTIONS, 'ensure_customer_events_partition'])
    t.ok(
      fns.rows.some((f) => f.proname === fn),
      `function ${fn}`,
    );
  const kind = await db.query<{ relkind: string }>(
    'test.relkind',
    `SELECT relkind FROM pg_class WHERE relname = 'customer_events'`,
  );
  t.equal(kind.rows[0]!.relkind, 'p', 'customer_events is partitioned');
  const ahead = await db.query<{ n: number }>(
    'test.partitions',
    `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'customer_events'::regclass`,
  );
  t.ok(ahead.rows[0]!.n >= 4, 'this month and the coming ones have partitions');
  const defaults = await db.query<{ n: number }>(
    'test.default-partition',
    `SELECT count(*)::int AS n FROM pg_partitioned_table WHERE partrelid = 'customer_events'::regclass AND partdefid <> 0`,
  );
  t.equal(defaults.rows[0]!.n, 0, 'no default partition');
});

t.test('an applied migration edited afterwards stops the next run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(repoPath('sql', 'migrations'), dir, { recursive: true });
  t.same(await migrate(testUrl, logger, dir), [], 'an identical copy is fine');
  appendFileSync(join(dir, '0002_customers_orders.sql'), '\n-- edited\n');
  await t.rejects(migrate(testUrl, logger, dir), /edited afterwards: 0002_customers_orders/);
});

t.test('the corrected sample queries run on the empty database', async (t) => {
  const db = createDb({
    connectionString: testUrl,
    service: 'schema-test',
    registry: createRegistry('schema-test-2'),
  });
  t.teardown(() => db.end());
  const text = readFileSync(repoPath('sql', 'sample-queries.sql'), 'utf8');
  const queries = text.split(/^-- name: /m).slice(1);
  t.ok(queries.length >= 10, `${queries.length} sample queries`);
  for (const q of queries) {
    const name = q.slice(0, q.indexOf('\n')).trim();
    await t.resolves(db.query(`sample.${name}`, q.slice(q.indexOf('\n') + 1)), name);
  }
});

t.test('a COPY across three months lands in three partitions; a month without one is refused', async (t) => {
  const db = createDb({
    connectionString: testUrl,
    service: 'schema-test',
    registry: createRegistry('schema-test-3'),
  });
  t.teardown(() => db.end());
  const months = ['2023-01-15T10:00:00Z', '2023-02-15T10:00:00Z', '2023-03-15T10:00:00Z'];
  for (const m of months) await db.query('test.ensure', 'SELECT ensure_customer_events_partition($1)', [m]);
  const { rows } = await db.query<{ id: string }>(
    'test.customer',
    `INSERT INTO customers (customer_id, first_seen_at) VALUES ('c-copy', '2023-01-01') RETURNING id`,
  );
  const lines = months.flatMap((m, i) =>
    Array.from({ length: i + 1 }, (_, j) => `${rows[0]!.id}\tpage_view\tp${j}\t{}\t${m}\n`),
  );
  const copied = await db.transaction('test.copy', (tx) =>
    tx.copyFrom(
      'test.copy',
      'COPY customer_events (customer_id, event_type, event_name, event_properties, occurred_at) FROM STDIN',
      lines,
    ),
  );
  t.equal(copied, 6);
  const per = await db.query<{ part: string; n: number }>(
    'test.per-partition',
    `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM customer_events GROUP BY 1 ORDER BY 1`,
  );
  t.same(
    per.rows.map((r) => r.n),
    [1, 2, 3],
  );
  t.equal(new Set(per.rows.map((r) => r.part)).size, 3);
  await t.rejects(
    db.transaction('test.copy-missing', (tx) =>
      tx.copyFrom(
        'test.copy',
        'COPY customer_events (customer_id, event_type, event_name, occurred_at) FROM STDIN',
        [`${rows[0]!.id}\tpage_view\tx\t1999-06-01T00:00:00Z\n`],
      ),
    ),
    /no partition/,
  );
});
