/**
 * The scheduler running the seed's metrics jobs with an injected clock, on a private PostgreSQL
 * (the jobs walk every customer, which the shared database's other tests must not see moved):
 * time passes without events, and daily_engagement_scores moves the scores, stages, days since the
 * last order and age groups exactly as a recompute at that time says. daily_customer_metrics
 * repairs a value broken by hand.
 */
import t from 'tap';
import pg from 'pg';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import { metricDifferences } from '../../shared/src/customers/metrics/check.js';
import { repairCustomerMetrics } from '../../shared/src/customers/metrics/refresh.js';
import { DAY_MS } from '../../shared/src/customers/metrics/rules.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { insertEvent, insertOrder } from '../../identities/test/db-fixtures.js';
import { defaultJobs } from '../src/jobs/registry.js';
import { jobState, ManualClock, randomName, startScheduler, testDb } from './support.js';

let server: PrivatePostgres;
let admin: pg.Pool;
let db: Db;
t.before(async () => {
  server = await startPrivatePostgres();
  admin = new pg.Pool({ connectionString: server.url, max: 2 });
  db = testDb(server.url);
});
t.teardown(async () => {
  await db.end();
  await admin.end();
  await server.destroy();
});

const jobs = () => defaultJobs({ changes: null, written: () => {} }, server.url);
const T0 = Date.UTC(2026, 5, 10, 12);

/** Customers whose last activity lies 0 to 120 days before T0, some with orders and birthdays. */
async function customers(): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 24; i++) {
    const last = T0 - i * 5 * DAY_MS;
    const id = (
      await resolveCustomers(db, [
        { externalId: randomName(`c${i}`), identityType: 'user_id', seenAt: new Date(last - 200 * DAY_MS) },
      ])
    )
      .values()
      .next().value!;
    await db.query('test.partition', 'SELECT ensure_customer_events_partitions($1, $2)', [
      new Date(last - 200 * DAY_MS),
      new Date(last),
    ]);
    for (const back of [200, 120, 3, 0])
      if (i % 3 !== 0 || back < 100) await insertEvent(db, id, new Date(last - back * DAY_MS));
    if (i % 2 === 0)
      await insertOrder(db, id, {
        total: 20 + i,
        status: i % 4 === 0 ? 'delivered' : 'confirmed',
        orderedAt: new Date(last - DAY_MS),
      });
    if (i % 5 === 0)
      await db.query('test.dob', 'UPDATE customers SET date_of_birth = $2 WHERE id = $1', [id, '2008-06-20']);
    ids.push(id);
  }
  return ids;
}

const stages = async (ids: string[]) =>
  (
    await db.query<{ lifecycle_stage: string; n: number }>(
      'test.stages',
      'SELECT lifecycle_stage, count(*)::int AS n FROM customers WHERE id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1',
      [ids],
    )
  ).rows.map((r) => `${r.lifecycle_stage}:${r.n}`);

t.test(
  'daily_engagement_scores moves the clock-driven metrics as the recompute at that time says',
  async (t) => {
    const ids = await customers();
    // Bring everyone to T0 (the rows were written by hand, not by the processors).
    await repairCustomerMetrics(db, new Date(T0));
    t.same(await metricDifferences(db, ids, T0), [], 'as of T0, stored = recomputed');
    const atT0 = await stages(ids);

    const clock = new ManualClock(new Date(T0 + 40 * DAY_MS + 4 * 3600_000 + 60_000)); // 04:01, 40 days on
    await admin.query(
      "UPDATE scheduled_jobs SET next_run_at = $1 WHERE job_name = 'daily_engagement_scores'",
      [new Date(T0 + 40 * DAY_MS + 4 * 3600_000)],
    );
    const s = startScheduler({
      url: server.url,
      db,
      clock,
      jobs: jobs(),
      prefix: 'daily_engagement_scores',
      lockName: randomName('lock'),
    });
    t.teardown(() => s.close());
    await s.scheduler.tick();
    const state = await jobState(admin, 'daily_engagement_scores');
    t.equal(state.last_run_status, 'success', state.last_error_message ?? '');
    t.equal(state.total_runs, 1);

    const asOf = clock.now().getTime();
    t.same(await metricDifferences(db, ids, asOf), [], '40 days on, stored = recomputed at that time');
    const later = await stages(ids);
    t.not(later.join(), atT0.join(), `the stages moved: ${atT0.join(' ')} -> ${later.join(' ')}`);
    t.ok((await metricDifferences(db, ids, T0)).length > 0, 'the stored values are no longer those of T0');
  },
);

t.test('daily_customer_metrics corrects a value broken by hand', async (t) => {
  const ids = (await db.query<{ id: string }>('test.all', 'SELECT id FROM customers')).rows.map((r) => r.id);
  const victim = ids[3]!;
  await db.query('test.break', 'UPDATE customers SET total_page_views = total_page_views + 7 WHERE id = $1', [
    victim,
  ]);
  const clock = new ManualClock(new Date(T0 + 40 * DAY_MS + 2 * 3600_000 + 60_000));
  t.same(
    (await metricDifferences(db, ids, clock.now().getTime())).map((d) => [d.id, d.column]),
    [[victim, 'total_page_views']],
    'broken: one column of one customer',
  );
  await admin.query("UPDATE scheduled_jobs SET next_run_at = $1 WHERE job_name = 'daily_customer_metrics'", [
    new Date(T0 + 40 * DAY_MS + 2 * 3600_000),
  ]);
  const s = startScheduler({
    url: server.url,
    db,
    clock,
    jobs: jobs(),
    prefix: 'daily_customer_metrics',
    lockName: randomName('lock'),
  });
  t.teardown(() => s.close());
  await s.scheduler.tick();
  const state = await jobState(admin, 'daily_customer_metrics');
  t.equal(state.last_run_status, 'success', state.last_error_message ?? '');
  t.same(
    await metricDifferences(db, ids, clock.now().getTime()),
    [],
    'every customer equals the recompute again',
  );
});
