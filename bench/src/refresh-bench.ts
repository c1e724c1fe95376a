/**
 * Phase 4, the scheduler's daily refresh of the clock-driven metrics (scores, lifecycle stage,
 * days_since_last_order, age_group). BENCH_REFRESH_CUSTOMERS (100,000) customers of the bench's own
 * are made directly in PostgreSQL with the facts the refresh reads: first and last seen spread over
 * the last 400 days, some birth dates, a fifth with a few orders of mixed statuses. Then
 * refreshClockDrivenMetrics walks exactly them (`only`) in slices of 1,000, as the scheduler's job
 * walks every customer, three times:
 *   first     at now: their clock-driven metrics were never computed, so most rows change;
 *   repeat    at the same now: nothing may change (changed 0), so this is the read-only pass;
 *   next day  at now + 1 day: what one daily run rewrites.
 * Nothing is published (no feed). The customers and their orders are deleted at the end.
 */
import { refreshClockDrivenMetrics } from '../../services/shared/src/customers/metrics/refresh.js';
import { DAY_MS } from '../../services/shared/src/customers/metrics/rules.js';
import type { BenchContext } from './context.js';
import { deleteCustomersLike } from './cleanup.js';
import { progress } from './log.js';
import { round } from './stats.js';

/** The scheduler's slice: customers per transaction. */
const SLICE = 1_000;

export interface RefreshPass {
  asOf: string;
  seconds: number;
  customersPerSecond: number;
  scanned: number;
  /** Customers whose row the refresh rewrote. */
  changed: number;
}

export interface RefreshFigures {
  customers: number;
  customersWithOrders: number;
  orders: number;
  sliceSize: number;
  createSeconds: number;
  first: RefreshPass;
  repeat: RefreshPass;
  nextDay: RefreshPass;
}

export async function runRefreshBench(ctx: BenchContext): Promise<RefreshFigures> {
  // cdpbench-<tag>-r-<n>: the bench's marker, so the clean-up of any later run finds leftovers.
  const prefix = `${ctx.marker}-r-`;
  try {
    return await measureRefresh(ctx, prefix);
  } finally {
    progress("refresh: deleting the phase's customers and their orders");
    await deleteCustomersLike(ctx.db, `${prefix}%`);
  }
}

async function measureRefresh(ctx: BenchContext, prefix: string): Promise<RefreshFigures> {
  const started = Date.now();
  const made = await createCustomers(ctx, prefix);
  const createSeconds = round((Date.now() - started) / 1000, 2);
  const ids = (
    await ctx.db.query<{ id: string }>(
      'bench.refresh-ids',
      'SELECT id FROM customers WHERE customer_id LIKE $1 ORDER BY id',
      [`${prefix}%`],
    )
  ).rows.map((r) => r.id);

  const asOf = new Date();
  const first = await refreshPass(ctx, 'first', ids, asOf);
  const repeat = await refreshPass(ctx, 'repeat, same asOf', ids, asOf);
  if (repeat.changed > 0)
    ctx.findings.push(
      `refresh: a second pass at the same asOf rewrote ${repeat.changed} customers (expected 0)`,
    );
  const nextDay = await refreshPass(ctx, 'next day', ids, new Date(asOf.getTime() + DAY_MS));
  return { ...made, sliceSize: SLICE, createSeconds, first, repeat, nextDay };
}

/**
 * The customers and their orders, in one transaction with a fixed seed, so every bench makes the
 * same population. The orders' statement trigger sets their order metrics, as in production.
 */
async function createCustomers(
  ctx: BenchContext,
  prefix: string,
): Promise<Pick<RefreshFigures, 'customers' | 'customersWithOrders' | 'orders'>> {
  const n = ctx.opts.refreshCustomers;
  progress(`refresh: creating ${n.toLocaleString('en-US')} customers (a fifth with orders)`);
  const counts = await ctx.db.transaction('bench.refresh-create', async (tx) => {
    await tx.query('bench.refresh-seed', 'SELECT setseed(0.42)');
    const customers = await tx.query(
      'bench.refresh-customers',
      `WITH g AS (
         SELECT i, now() - random() * interval '400 days' AS first_seen, random() AS r_last,
                random() AS r_idle, random() AS r_dob, random() AS r_age, floor(random() * 20)::int AS sessions
         FROM generate_series(1, $2::int) i
       )
       INSERT INTO customers (customer_id, email, name, first_seen_at, last_seen_at, date_of_birth,
                              total_sessions, total_page_views)
       SELECT $1::text || i, $1::text || i || '@example.com', 'Bench Customer ' || i, first_seen,
              -- 5% were only named by an identify: no activity yet
              CASE WHEN r_idle >= 0.05 THEN first_seen + r_last * (now() - first_seen) END,
              -- 40% gave a birth date, 18 to 78 years ago
              CASE WHEN r_dob < 0.4 THEN (now() - interval '18 years' - r_age * interval '60 years')::date END,
              CASE WHEN r_idle >= 0.05 THEN sessions + 1 ELSE 0 END,
              CASE WHEN r_idle >= 0.05 THEN (sessions + 1) * 4 ELSE 0 END
       FROM g`,
      [prefix, n],
    );
    // A fifth of the active customers, 1 to 4 orders each, placed between their first and last visit.
    const orders = await tx.query<{ buyers: number; orders: number }>(
      'bench.refresh-orders',
      `WITH buyers AS (
         SELECT id, customer_id, first_seen_at, last_seen_at, 1 + floor(random() * 4)::int AS orders
         FROM customers WHERE customer_id LIKE $1 AND last_seen_at IS NOT NULL AND random() < 0.21
       ), lines AS (
         SELECT b.customer_id || '-o' || k AS order_id, b.id,
                (ARRAY['pending', 'confirmed', 'shipped', 'delivered', 'delivered', 'delivered',
                       'cancelled', 'refunded'])[1 + floor(random() * 8)::int] AS status,
                round((20 + random() * 300)::numeric, 2) AS subtotal,
                b.first_seen_at + random() * (b.last_seen_at - b.first_seen_at) AS ordered_at
         FROM buyers b CROSS JOIN LATERAL generate_series(1, b.orders) k
       ), made AS (
         INSERT INTO customer_orders (order_id, customer_id, order_status, order_total, subtotal,
                                      tax_amount, currency, ordered_at, order_source)
         SELECT order_id, id, status, round(subtotal * 1.08, 2), subtotal, round(subtotal * 0.08, 2),
                'USD', ordered_at, 'web'
         FROM lines
         RETURNING customer_id
       )
       SELECT count(DISTINCT customer_id)::int AS buyers, count(*)::int AS orders FROM made`,
      [`${prefix}%`],
    );
    return {
      customers: customers.rowCount ?? 0,
      customersWithOrders: orders.rows[0]!.buyers,
      orders: orders.rows[0]!.orders,
    };
  });
  // Fresh statistics, so the refresh's queries are planned as on a table that grew over time.
  await ctx.db.query('bench.refresh-analyze', 'ANALYZE customers, customer_orders');
  progress(
    `refresh: ${counts.customers.toLocaleString('en-US')} customers, ${counts.customersWithOrders.toLocaleString('en-US')} ` +
      `of them with ${counts.orders.toLocaleString('en-US')} orders`,
  );
  return counts;
}

/** One walk over `ids` at `asOf`, timed. */
async function refreshPass(
  ctx: BenchContext,
  name: string,
  ids: readonly string[],
  asOf: Date,
): Promise<RefreshPass> {
  progress(
    `refresh (${name}): refreshClockDrivenMetrics of ${ids.length.toLocaleString('en-US')} customers ` +
      `as of ${asOf.toISOString()}, slices of ${SLICE}`,
  );
  const started = process.hrtime.bigint();
  const result = await refreshClockDrivenMetrics(ctx.db, asOf, { only: ids, sliceSize: SLICE });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const pass: RefreshPass = {
    asOf: asOf.toISOString(),
    seconds: round(seconds, 2),
    customersPerSecond: round(result.scanned / seconds),
    scanned: result.scanned,
    changed: result.changed,
  };
  progress(
    `  ${pass.customersPerSecond.toLocaleString('en-US')} customers/s (${pass.seconds} s), ` +
      `${pass.changed.toLocaleString('en-US')} changed`,
  );
  return pass;
}
