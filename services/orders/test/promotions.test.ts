/** Promotion redemptions on the real database: validity rules, counters, unknown codes, changes. */
import t from 'tap';
import type { Counter } from 'prom-client';
import { countOf } from '../../shared/test/processor-harness.js';
import type { OrderRecord } from '../src/mapping/order-record.js';
import { at, db, newProcessor, orderRecord, randomName, track, write } from './support.js';

let creator = '';
t.before(async () => {
  const { rows } = await db.query<{ id: string }>(
    'test.platform-user',
    `INSERT INTO platform_users (email, password_hash, name, role)
     VALUES ($1, 'x', 'orders test', 'admin') RETURNING id`,
    [`${randomName('orders-test')}@example.com`],
  );
  creator = rows[0]!.id;
});
t.teardown(() => db.end());

interface PromotionSpec {
  discount_type?: string;
  discount_value?: number;
  max_discount_amount?: number | null;
  min_order_value?: number | null;
  usage_limit_total?: number | null;
  usage_limit_per_customer?: number | null;
  valid_from?: number;
  valid_until?: number;
  first_time_customers_only?: boolean;
  is_active?: boolean;
}

/** A promotion of our own, with a random code; valid around T0 by default, no limits. */
async function promotion(
  spec: PromotionSpec = {},
  code = randomName('CODE'),
): Promise<{ id: string; code: string }> {
  const p = {
    discount_type: 'percentage',
    discount_value: 0.1,
    max_discount_amount: null,
    min_order_value: null,
    usage_limit_total: null,
    usage_limit_per_customer: null,
    valid_from: at(-60 * 24),
    valid_until: at(60 * 24),
    first_time_customers_only: false,
    is_active: true,
    ...spec,
  };
  const { rows } = await db.query<{ id: string }>(
    'test.promotion',
    `INSERT INTO promotions (name, promotion_code, discount_type, discount_value, max_discount_amount,
       min_order_value, usage_limit_total, usage_limit_per_customer, valid_from, valid_until,
       first_time_customers_only, is_active, created_by)
     VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
    [
      code,
      p.discount_type,
      p.discount_value,
      p.max_discount_amount,
      p.min_order_value,
      p.usage_limit_total,
      p.usage_limit_per_customer,
      new Date(p.valid_from),
      new Date(p.valid_until),
      p.first_time_customers_only,
      p.is_active,
      creator,
    ],
  );
  return { id: rows[0]!.id, code };
}

async function redemptions(promotionId: string) {
  const { rows } = await db.query<{
    order_id: string;
    customer: string;
    was_valid: boolean;
    validation_errors: string[];
    discount_amount: string;
    original_order_value: string;
    final_order_value: string;
  }>(
    'test.redemptions',
    `SELECT o.order_id, c.customer_id AS customer, r.was_valid, r.validation_errors, r.discount_amount,
            r.original_order_value, r.final_order_value
     FROM promotion_redemptions r JOIN customer_orders o ON o.id = r.order_id JOIN customers c ON c.id = r.customer_id
     WHERE r.promotion_id = $1 ORDER BY r.redeemed_at, o.order_id`,
    [promotionId],
  );
  return rows;
}

/** The counters next to a recount of the valid rows. */
async function counters(promotionId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    'test.counters',
    `SELECT p.current_usage_count, p.total_redemptions, p.total_discount_given, p.total_revenue_attributed,
            r.n, r.discount, r.revenue
     FROM promotions p CROSS JOIN LATERAL (
       SELECT count(*)::int AS n, coalesce(sum(discount_amount), 0)::numeric(12,2) AS discount,
              coalesce(sum(final_order_value), 0)::numeric(12,2) AS revenue
       FROM promotion_redemptions WHERE promotion_id = p.id AND was_valid) r
     WHERE p.id = $1`,
    [promotionId],
  );
  const r = rows[0]!;
  return {
    stored: [r.current_usage_count, r.total_redemptions, r.total_discount_given, r.total_revenue_attributed],
    recount: [r.n, r.n, r.discount, r.revenue],
  };
}

/** An order of 100 of a new customer (unless `o` says otherwise) redeeming `code`. */
const order = (code: string, o: Partial<OrderRecord> = {}): OrderRecord =>
  orderRecord({
    userId: randomName('user'),
    order_total: 100,
    promotion_code: code,
    timestamp: at(0),
    ...o,
    order_id: o.order_id ?? randomName('order'),
  });

t.test('a valid redemption is recorded and counted', async (t) => {
  const { definition, registry } = newProcessor();
  const promo = await promotion({ discount_value: 0.15, max_discount_amount: 10 });
  const o = order(promo.code, { subtotal: 80, discount_amount: null });
  const counts = await write(definition, [o]);
  t.same(counts.redemptions, { valid: 1, invalid: 0 });
  definition.committed!([counts]);
  const metric = registry.getSingleMetric('orders_promotion_redemptions_total') as Counter<string>;
  t.equal(await countOf(metric, { validity: 'valid' }), 1);
  t.match(await redemptions(promo.id), [
    {
      order_id: o.order_id,
      was_valid: true,
      validation_errors: [],
      // 15% of the subtotal 80 is 12, capped at 10
      discount_amount: '10.00',
      original_order_value: '110.00',
      final_order_value: '100.00',
    },
  ]);
  const c = await counters(promo.id);
  t.same(c.stored, [1, 1, '10.00', '100.00']);
  t.same(c.stored, c.recount);
});

t.test("the order's own discount_amount is what the redemption records", async (t) => {
  const { definition } = newProcessor();
  const promo = await promotion();
  await write(definition, [order(promo.code, { discount_amount: 3.33 })]);
  t.match(await redemptions(promo.id), [{ discount_amount: '3.33', original_order_value: '103.33' }]);
});

t.test('each broken rule is recorded with was_valid = false and its error', async (t) => {
  const cases: [string, PromotionSpec, (code: string) => OrderRecord[], string][] = [
    ['inactive', { is_active: false }, (c) => [order(c)], 'inactive'],
    ['before valid_from', { valid_from: at(10) }, (c) => [order(c)], 'not-yet-valid'],
    ['after valid_until', { valid_until: at(-10) }, (c) => [order(c)], 'expired'],
    [
      'below min_order_value',
      { min_order_value: 150 },
      (c) => [order(c, { discount_amount: 0 })],
      'below-min-order-value',
    ],
    [
      'total limit',
      { usage_limit_total: 1 },
      (c) => [order(c, { timestamp: at(0) }), order(c, { timestamp: at(1) })],
      'total-limit-reached',
    ],
    [
      'per-customer limit',
      { usage_limit_per_customer: 1 },
      (c) => {
        const user = randomName('user');
        return [order(c, { userId: user, timestamp: at(0) }), order(c, { userId: user, timestamp: at(1) })];
      },
      'customer-limit-reached',
    ],
    [
      'first-time customers only',
      { first_time_customers_only: true },
      (c) => {
        const user = randomName('user');
        // The customer's earlier order has no code; the coded one is their second.
        return [
          order('', { userId: user, timestamp: at(-30) }),
          order(c, { userId: user, timestamp: at(0) }),
        ];
      },
      'not-first-order',
    ],
  ];
  for (const [name, spec, records, error] of cases) {
    const { definition } = newProcessor();
    const promo = await promotion(spec);
    const counts = await write(definition, records(promo.code));
    const rows = await redemptions(promo.id);
    const last = rows[rows.length - 1]!;
    t.equal(last.was_valid, false, `${name}: recorded as invalid`);
    t.same(last.validation_errors, [error], `${name}: ${error}`);
    t.equal(counts.redemptions.invalid, 1, `${name}: counted as invalid`);
    const c = await counters(promo.id);
    t.same(c.stored, c.recount, `${name}: counters equal a recount`);
    t.equal(c.stored[0], rows.filter((r) => r.was_valid).length, `${name}: only valid rows count`);
  }
});

t.test('limits count across batches and the earlier order wins within one', async (t) => {
  const { definition } = newProcessor();
  const promo = await promotion({ usage_limit_total: 2 });
  const a = order(promo.code, { timestamp: at(2) });
  const b = order(promo.code, { timestamp: at(1) });
  await write(definition, [a, b]);
  const c = order(promo.code, { timestamp: at(3) });
  await write(definition, [c]);
  const rows = await redemptions(promo.id);
  t.same(
    rows.map((r) => [r.order_id, r.was_valid]),
    [
      [b.order_id, true],
      [a.order_id, true],
      [c.order_id, false],
    ],
  );
  const counts = await counters(promo.id);
  t.same(counts.stored, counts.recount);
  t.equal(counts.stored[0], 2);
});

t.test('a status update keeps the redemption; a changed code moves it to the other promotion', async (t) => {
  const { definition } = newProcessor();
  const first = await promotion();
  const second = await promotion({ discount_type: 'fixed_amount', discount_value: 5 });
  const o = order(first.code, { discount_amount: null });
  await write(definition, [o]);
  const again = await write(definition, [
    orderRecord({ order_id: o.order_id, userId: o.userId, order_status: 'shipped', timestamp: at(5) }),
  ]);
  t.same(again.redemptions, { valid: 0, invalid: 0 }, 'nothing re-recorded by a status change');
  t.equal((await redemptions(first.id)).length, 1);

  await write(definition, [
    orderRecord({ order_id: o.order_id, userId: o.userId, promotion_code: second.code, timestamp: at(10) }),
  ]);
  t.same(await redemptions(first.id), [], 'the old redemption is gone');
  t.match(await redemptions(second.id), [{ order_id: o.order_id, was_valid: true, discount_amount: '5.00' }]);
  for (const p of [first, second]) {
    const c = await counters(p.id);
    t.same(c.stored, c.recount);
  }
  t.equal((await counters(first.id)).stored[0], 0);

  await write(definition, [
    orderRecord({ order_id: o.order_id, userId: o.userId, promotion_code: '', timestamp: at(20) }),
  ]);
  t.same(await redemptions(second.id), [], 'an empty code removes the redemption');
  t.equal((await counters(second.id)).stored[0], 0);
});

t.test('an unknown code is counted and kept on the order, with no redemption', async (t) => {
  const { definition, registry } = newProcessor();
  const code = randomName('NOPE');
  const o = order(code);
  const counts = await write(definition, [o]);
  t.equal(counts.unknownCodes, 1);
  definition.committed!([counts]);
  t.equal(
    await countOf(registry.getSingleMetric('orders_unknown_promotion_codes_total') as Counter<string>),
    1,
  );
  const { rows } = await db.query<{ promotion_code: string; n: number }>(
    'test.unknown',
    `SELECT o.promotion_code, (SELECT count(*)::int FROM promotion_redemptions r WHERE r.order_id = o.id) AS n
     FROM customer_orders o WHERE o.order_id = $1`,
    [o.order_id],
  );
  t.same(rows, [{ promotion_code: code, n: 0 }]);
  const again = await write(definition, [
    orderRecord({ order_id: o.order_id, userId: o.userId, order_status: 'shipped', timestamp: at(5) }),
  ]);
  t.equal(again.unknownCodes, 0, 'counted once per order, not per update');
  const repeated = await write(definition, [
    orderRecord({
      order_id: o.order_id,
      userId: o.userId,
      order_status: 'delivered',
      promotion_code: code,
      timestamp: at(6),
    }),
  ]);
  t.equal(repeated.unknownCodes, 0, 'nor again by a newer update that repeats the same code');
});

t.test("an Order Completed's coupon redeems like promotion_code; replays change nothing", async (t) => {
  const { definition } = newProcessor();
  const promo = await promotion();
  const orderId = randomName('order');
  const user = randomName('user');
  const completed = track(
    'Order Completed',
    { order_id: orderId, total: 45, coupon: promo.code },
    { userId: user },
  );
  await write(definition, [completed]);
  await write(definition, [completed]);
  const rows = await redemptions(promo.id);
  t.equal(rows.length, 1);
  t.match(rows[0], { order_id: orderId, customer: user, was_valid: true, final_order_value: '45.00' });
  const c = await counters(promo.id);
  t.same(c.stored, c.recount);
});

t.test(
  'first-time customers only: judged by the final is_first_order, whichever order arrives first',
  async (t) => {
    const promo = await promotion({ first_time_customers_only: true });
    // B (the later order, with the code) and A (earlier, no code), in both arrival orders.
    const outcome = async (bFirst: boolean) => {
      const { definition } = newProcessor();
      const user = randomName('user');
      const b = order(promo.code, { userId: user, ordered_at: at(10), timestamp: at(10) });
      const a = order('', { userId: user, ordered_at: at(5), timestamp: at(5) });
      const first = await write(definition, [bFirst ? b : a]);
      const second = await write(definition, [bFirst ? a : b]);
      const rows = (await redemptions(promo.id)).filter((r) => r.customer === user);
      return { b, a, user, first, second, rows };
    };
    const bFirst = await outcome(true);
    t.same(bFirst.first.redemptions, { valid: 1, invalid: 0 }, 'B alone is the first order: valid');
    t.same(bFirst.second.redemptions, { valid: 0, invalid: 1 }, 'A takes the flag: B judged again');
    const aFirst = await outcome(false);
    t.same(aFirst.second.redemptions, { valid: 0, invalid: 1 });
    for (const o of [bFirst, aFirst]) {
      t.equal(o.rows.length, 1);
      t.match(o.rows, [{ order_id: o.b.order_id, was_valid: false, validation_errors: ['not-first-order'] }]);
    }
    const c = await counters(promo.id);
    t.same(c.stored, c.recount, 'counters equal a recount');
    t.equal(c.stored[0], 0);

    // A's ordered_at corrected to after B: B is the first order again, and valid again.
    const { definition } = newProcessor();
    const moved = await write(definition, [
      orderRecord({
        order_id: bFirst.a.order_id,
        userId: bFirst.user,
        ordered_at: at(20),
        timestamp: at(30),
      }),
    ]);
    t.same(moved.redemptions, { valid: 1, invalid: 0 });
    t.match(
      (await redemptions(promo.id)).filter((r) => r.customer === bFirst.user),
      [{ order_id: bFirst.b.order_id, was_valid: true, validation_errors: [] }],
    );
    t.equal((await counters(promo.id)).stored[0], 1);

    // Judged again from what the row recorded: amounts recorded clamped still do not fit.
    const huge = order(promo.code, { order_total: 200_000_000, ordered_at: at(10), timestamp: at(10) });
    await write(definition, [huge]);
    await write(definition, [order('', { userId: huge.userId, ordered_at: at(5), timestamp: at(5) })]);
    t.match(
      (await redemptions(promo.id)).filter((r) => r.order_id === huge.order_id),
      [{ was_valid: false, validation_errors: ['not-first-order', 'amount-out-of-range'] }],
    );

    // A flag change judges only first-time-customers-only redemptions again; others stay as recorded.
    const plain = await promotion();
    const user = randomName('user');
    const later = order(plain.code, { userId: user, ordered_at: at(10), timestamp: at(10) });
    await write(definition, [later]);
    const again = await write(definition, [order('', { userId: user, ordered_at: at(5), timestamp: at(5) })]);
    t.same(again.redemptions, { valid: 0, invalid: 0 });
    t.match(await redemptions(plain.id), [{ order_id: later.order_id, was_valid: true }]);
  },
);

t.test('promotion codes are looked up whole, up to 100 characters; the order keeps 50', async (t) => {
  const { definition } = newProcessor();
  const base = randomName('LONG').padEnd(50, 'x');
  const short = await promotion({}, base); // exactly 50 characters
  const long = await promotion({}, base + 'y'.repeat(40)); // 90: its first 50 are `short`'s code
  const longest = await promotion({}, base + 'z'.repeat(50)); // 100
  const viaLong = order(long.code);
  const viaLongest = track(
    'Order Completed',
    { order_id: randomName('order'), total: 100, coupon: longest.code },
    { userId: randomName('user') },
  );
  const tooLong = order(longest.code + 'q'); // 101: names no promotion, is not cut to find one
  const counts = await write(definition, [viaLong, viaLongest, tooLong]);
  t.same(counts.redemptions, { valid: 2, invalid: 0 });
  t.equal(counts.unknownCodes, 1);
  t.same(counts.truncated, { promotion_code: 3 }, 'the three cut for customer_orders, and counted');
  t.same(await redemptions(short.id), [], 'a 50-character prefix redeems nothing');
  t.match(await redemptions(long.id), [{ order_id: viaLong.order_id, was_valid: true }]);
  t.match(await redemptions(longest.id), [{ was_valid: true }]);
  const codes = async (orderId: string) => {
    const { rows } = await db.query<{ promotion_code: string; redemption_code: string | null }>(
      'test.long-codes',
      `SELECT o.promotion_code, r.redemption_code
       FROM customer_orders o LEFT JOIN promotion_redemptions r ON r.order_id = o.id WHERE o.order_id = $1`,
      [orderId],
    );
    return rows;
  };
  t.same(await codes(viaLong.order_id), [{ promotion_code: base, redemption_code: long.code }]);
  t.same(await codes(tooLong.order_id), [{ promotion_code: base, redemption_code: null }]);

  // A status update does not judge the redemption again, nor count the long code unknown again.
  const again = await write(definition, [
    orderRecord({
      order_id: tooLong.order_id,
      userId: tooLong.userId,
      order_status: 'shipped',
      timestamp: at(5),
    }),
    orderRecord({
      order_id: viaLong.order_id,
      userId: viaLong.userId,
      order_status: 'shipped',
      timestamp: at(5),
    }),
  ]);
  t.same([again.unknownCodes, again.redemptions], [0, { valid: 0, invalid: 0 }]);
  for (const p of [short, long, longest]) {
    const c = await counters(p.id);
    t.same(c.stored, c.recount);
  }
});
