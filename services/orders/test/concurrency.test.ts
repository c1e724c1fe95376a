/**
 * Transactions of two partitions (cdp.orders and cdp.events, say) writing the same orders and
 * redeeming the same limited promotion at once: the state rows serialise per order, the promotion
 * lock serialises its limit, and the result is what the records say, with counters = a recount.
 */
import t from 'tap';
import { isRetryable } from '../../shared/src/errors.js';
import { at, db, newProcessor, orderRecord, randomName, track, write } from './support.js';

t.teardown(() => db.end());

/** As the runtime does: a retryable failure (deadlock, serialization) retries the same batch. */
let retries = 0;
async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || attempt >= 10) throw err;
      retries++;
    }
  }
}

t.test('concurrent batches on the same orders and promotion', async (t) => {
  const { rows: users } = await db.query<{ id: string }>(
    'test.platform-user',
    `INSERT INTO platform_users (email, password_hash, name, role) VALUES ($1, 'x', 'orders test', 'admin') RETURNING id`,
    [`${randomName('orders-test')}@example.com`],
  );
  const code = randomName('RACE');
  const { rows: promos } = await db.query<{ id: string }>(
    'test.promotion',
    `INSERT INTO promotions (name, promotion_code, discount_type, discount_value, usage_limit_total,
       usage_limit_per_customer, valid_from, valid_until, created_by)
     VALUES ($1, $1, 'fixed_amount', 1, 5, NULL, $2, $3, $4) RETURNING id`,
    [code, new Date(at(-100)), new Date(at(1000)), users[0]!.id],
  );
  const promotionId = promos[0]!.id;

  const orders = Array.from({ length: 12 }, (_, i) => ({
    id: randomName(`race-${i}`),
    user: randomName('user'),
  }));
  // Batch k: creates (cdp.orders) for some orders, and tracks for others, in a different order.
  const batches = Array.from({ length: 8 }, (_, k) =>
    orders
      .map((o, i) =>
        (i + k) % 3 === 0
          ? orderRecord({
              order_id: o.id,
              userId: o.user,
              order_total: 10 + i,
              promotion_code: code,
              timestamp: at(i),
            })
          : track('Order Cancelled', { order_id: o.id }, { userId: o.user, timestamp: at(100 + i) }),
      )
      .reverse()
      .slice(k % 4),
  );
  const { definition } = newProcessor();
  await Promise.all(batches.map((b) => withRetry(() => write(definition, b))));

  const { rows } = await db.query<{ order_id: string; order_status: string; n: number }>(
    'test.race-orders',
    `SELECT o.order_id, o.order_status,
            (SELECT count(*)::int FROM promotion_redemptions r WHERE r.order_id = o.id) AS n
     FROM customer_orders o WHERE o.order_id = ANY($1) ORDER BY o.order_id`,
    [orders.map((o) => o.id)],
  );
  t.equal(rows.length, 12, 'every order written');
  t.ok(
    rows.every((r) => r.order_status === 'cancelled' && r.n === 1),
    'each cancelled (the later event), each with one redemption',
  );
  const { rows: c } = await db.query<{ stored: number; valid: number; all: number }>(
    'test.race-counters',
    `SELECT p.current_usage_count AS stored,
            (SELECT count(*)::int FROM promotion_redemptions WHERE promotion_id = p.id AND was_valid) AS valid,
            (SELECT count(*)::int FROM promotion_redemptions WHERE promotion_id = p.id) AS all
     FROM promotions p WHERE p.id = $1`,
    [promotionId],
  );
  t.same(c[0], { stored: 5, valid: 5, all: 12 }, 'the limit held: 5 valid, the rest recorded invalid');
  t.comment(`${retries} retried batches (deadlocks, serialization)`);
});

t.test('first time customers only: concurrent batches end judged by the final first order', async (t) => {
  const { rows: users } = await db.query<{ id: string }>(
    'test.platform-user',
    `INSERT INTO platform_users (email, password_hash, name, role) VALUES ($1, 'x', 'orders test', 'admin') RETURNING id`,
    [`${randomName('orders-test')}@example.com`],
  );
  const code = randomName('FIRST');
  const { rows: promos } = await db.query<{ id: string }>(
    'test.promotion',
    `INSERT INTO promotions (name, promotion_code, discount_type, discount_value, valid_from, valid_until,
       first_time_customers_only, created_by)
     VALUES ($1, $1, 'fixed_amount', 1, $2, $3, true, $4) RETURNING id`,
    [code, new Date(at(-100)), new Date(at(1000)), users[0]!.id],
  );
  const { definition } = newProcessor();
  // Per customer: a later order B with the code and an earlier one A without, on two partitions at once.
  const customers = Array.from({ length: 10 }, () => ({
    user: randomName('user'),
    a: randomName('order-a'),
    b: randomName('order-b'),
  }));
  const record = (c: (typeof customers)[number], which: 'a' | 'b') =>
    orderRecord({
      order_id: c[which],
      userId: c.user,
      order_total: 20,
      promotion_code: which === 'b' ? code : null,
      ordered_at: at(which === 'a' ? 1 : 2),
      timestamp: at(which === 'a' ? 1 : 2),
    });
  await Promise.all([
    ...customers.map((c) => withRetry(() => write(definition, [record(c, 'b')]))),
    ...customers.map((c) => withRetry(() => write(definition, [record(c, 'a')]))),
  ]);
  const { rows } = await db.query<{ was_valid: boolean; validation_errors: string[] }>(
    'test.race-first',
    'SELECT was_valid, validation_errors FROM promotion_redemptions WHERE promotion_id = $1',
    [promos[0]!.id],
  );
  t.equal(rows.length, 10);
  t.ok(
    rows.every((r) => !r.was_valid && r.validation_errors.join() === 'not-first-order'),
    "every B is not its customer's first order, whichever committed first",
  );
  const { rows: c } = await db.query<{ stored: number }>(
    'test.race-first-counters',
    'SELECT current_usage_count AS stored FROM promotions WHERE id = $1',
    [promos[0]!.id],
  );
  t.equal(c[0]!.stored, 0);
});
