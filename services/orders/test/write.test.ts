/** The definition's write on the real database: upserts, partial and late updates, parking, flags. */
import t from 'tap';
import { countOf } from '../../shared/test/processor-harness.js';
import type { Counter } from 'prom-client';
import {
  at,
  db,
  item,
  itemsOf,
  newProcessor,
  orderRecord,
  orderRow,
  randomName,
  stateOf,
  write,
} from './support.js';

t.teardown(() => db.end());

const iso = (ms: number) => new Date(ms).toISOString();
const time = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

t.test('a new order is created with its items; the defaults fill what it did not say', async (t) => {
  const { definition, registry } = newProcessor();
  const user = randomName('user');
  const orderId = randomName('order');
  const counts = await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_total: 30.005,
      shipping_city: 'Lyon',
      timestamp: at(0),
      items: [
        item({ product_id: 'a', unit_price: 10, quantity: 2 }),
        item({ product_id: 'b', unit_price: 10.01 }),
      ],
    }),
  ]);
  t.match(counts, { created: 1, updated: 0, parked: 0 });
  definition.committed!([counts]);
  t.equal(await countOf(registry.getSingleMetric('orders_created_total') as Counter<string>), 1);

  const row = await orderRow(orderId);
  t.ok(row, 'the row exists');
  t.match(row, {
    customer: user,
    order_status: 'confirmed',
    order_total: '30.01', // rounded half away from zero, as numeric does
    subtotal: '30.01',
    tax_amount: '0.00',
    currency: 'USD',
    shipping_city: 'Lyon',
    is_first_order: true,
  });
  t.equal(time(row!.ordered_at), iso(at(0)), 'ordered_at defaults to the event time');
  t.equal(time(row!.confirmed_at), iso(at(0)), 'a new order without a status is confirmed when placed');
  t.same(
    (await itemsOf(orderId)).map((i) => [i.product_id, i.quantity, i.total_price]),
    [
      ['a', 2, '20.00'],
      ['b', 1, '10.01'],
    ],
  );
});

t.test('an update carrying only order_status changes only the status (and its timestamp)', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_total: 50,
      tax_amount: 5,
      payment_method: 'card',
      timestamp: at(0),
      items: [item()],
    }),
  ]);
  const before = await orderRow(orderId);
  const counts = await write(definition, [
    orderRecord({ order_id: orderId, userId: user, order_status: 'shipped', timestamp: at(60) }),
  ]);
  t.match(counts, { created: 0, updated: 1 });
  const after = await orderRow(orderId);
  const { order_status, shipped_at, updated_at: _u, ...rest } = after!;
  const { order_status: s0, shipped_at: sh0, updated_at: _u0, ...rest0 } = before!;
  t.equal(s0, 'confirmed');
  t.equal(sh0, null);
  t.equal(order_status, 'shipped');
  t.equal(time(shipped_at), iso(at(60)));
  t.same(rest, rest0, 'every other column as it was');
  t.equal((await itemsOf(orderId)).length, 1, 'items untouched by an update without items');
});

t.test('a late, older update never overwrites a newer one', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_total: 20,
      payment_status: 'paid',
      timestamp: at(0),
    }),
    orderRecord({ order_id: orderId, userId: user, order_status: 'delivered', timestamp: at(300) }),
  ]);
  // Arrives last but happened in between: older than `delivered`, newer than the create. Field by
  // field, the later event time wins.
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_status: 'shipped',
      payment_status: 'captured',
      timestamp: at(100),
    }),
  ]);
  const row = await orderRow(orderId);
  t.equal(row!.order_status, 'delivered', 'the newer status stays');
  t.equal(row!.payment_status, 'captured', 'a field the newer records did not carry takes the late value');
  t.equal(time(row!.shipped_at), iso(at(100)), 'the late shipped still sets shipped_at');
  t.equal(time(row!.delivered_at), iso(at(300)));
});

t.test('an update before its order is parked, then applied when the order arrives', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  const early = await write(definition, [
    orderRecord({ order_id: orderId, userId: user, order_status: 'shipped', timestamp: at(60) }),
  ]);
  t.match(early, { created: 0, updated: 0, parked: 1 });
  t.equal(await orderRow(orderId), undefined, 'no order row yet');
  t.equal((await stateOf(orderId))!.parked, true, 'kept in order_state');

  const created = await write(definition, [
    orderRecord({ order_id: orderId, userId: user, order_total: 12.5, timestamp: at(0) }),
  ]);
  t.match(created, { created: 1, parked: 0 });
  const row = await orderRow(orderId);
  t.match(row, { order_status: 'shipped', order_total: '12.50' });
  t.equal(time(row!.ordered_at), iso(at(0)), 'ordered_at is the earliest event time');
  t.equal(time(row!.shipped_at), iso(at(60)));
  t.equal((await stateOf(orderId))!.parked, false);
});

t.test('status timestamps: earliest statement of each status, explicit *_at values win', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_total: 10,
      order_status: 'pending',
      timestamp: at(0),
    }),
    orderRecord({ order_id: orderId, userId: user, order_status: 'confirmed', timestamp: at(5) }),
    orderRecord({ order_id: orderId, userId: user, order_status: 'confirmed', timestamp: at(7) }),
    orderRecord({ order_id: orderId, userId: user, order_status: 'delivered', timestamp: at(90) }),
    orderRecord({
      order_id: orderId,
      userId: user,
      order_status: 'shipped',
      shipped_at: at(30),
      timestamp: at(40),
    }),
  ]);
  const row = await orderRow(orderId);
  t.equal(row!.order_status, 'delivered');
  t.equal(time(row!.confirmed_at), iso(at(5)), 'the earliest record stating confirmed (pending came first)');
  t.equal(time(row!.shipped_at), iso(at(30)), 'an explicit shipped_at wins over the event time');
  t.equal(time(row!.delivered_at), iso(at(90)));
  t.equal(row!.cancelled_at, null);
});

t.test('items are replaced by an update that carries items', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      order_total: 30,
      timestamp: at(0),
      items: [item({ product_id: 'a' }), item({ product_id: 'b' })],
    }),
  ]);
  await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: user,
      timestamp: at(10),
      items: [
        item({
          product_id: 'c',
          unit_price: 7.5,
          quantity: 4,
          discount_amount: 1,
          product_attributes_json: '{"size":"M"}',
        }),
      ],
    }),
  ]);
  t.same(await itemsOf(orderId), [
    {
      product_id: 'c',
      product_name: 'Product',
      product_category: null,
      product_sku: null,
      product_brand: null,
      unit_price: '7.50',
      quantity: 4,
      total_price: '29.00',
      discount_amount: '1.00',
      product_attributes: { size: 'M' },
    },
  ]);
  // An older item list arriving late does not bring the old items back.
  await write(definition, [
    orderRecord({ order_id: orderId, userId: user, timestamp: at(5), items: [item({ product_id: 'z' })] }),
  ]);
  t.same(
    (await itemsOf(orderId)).map((i) => i.product_id),
    ['c'],
  );
});

t.test('is_first_order is true for exactly the earliest order, even when it arrives later', async (t) => {
  const { definition } = newProcessor();
  const user = randomName('user');
  const [o1, o2, o3] = [randomName('order'), randomName('order'), randomName('order')];
  await write(definition, [
    orderRecord({ order_id: o2, userId: user, order_total: 10, ordered_at: at(20), timestamp: at(20) }),
  ]);
  await write(definition, [orderRecord({ order_id: o3, userId: user, order_total: 10, timestamp: at(30) })]);
  t.equal((await orderRow(o2))!.is_first_order, true);
  await write(definition, [orderRecord({ order_id: o1, userId: user, order_total: 10, timestamp: at(10) })]);
  t.same(
    [
      (await orderRow(o1))!.is_first_order,
      (await orderRow(o2))!.is_first_order,
      (await orderRow(o3))!.is_first_order,
    ],
    [true, false, false],
  );
  // ordered_at corrected by a later update to before everything: that order becomes the first.
  await write(definition, [
    orderRecord({ order_id: o3, userId: user, ordered_at: at(1), timestamp: at(40) }),
  ]);
  t.same(
    [
      (await orderRow(o1))!.is_first_order,
      (await orderRow(o2))!.is_first_order,
      (await orderRow(o3))!.is_first_order,
    ],
    [false, false, true],
  );
});

t.test('replaying records is a no-op', async (t) => {
  const { definition } = newProcessor();
  const orderId = randomName('order');
  const user = randomName('user');
  const records = [
    orderRecord({ order_id: orderId, userId: user, order_total: 99.99, timestamp: at(0), items: [item()] }),
    orderRecord({ order_id: orderId, userId: user, order_status: 'shipped', timestamp: at(10) }),
  ];
  await write(definition, records);
  const before = await orderRow(orderId);
  const items = await itemsOf(orderId);
  const again = await write(definition, [...records, records[0]!]);
  t.match(again, { created: 0, updated: 0, parked: 0 });
  t.same(await orderRow(orderId), before, 'the row untouched (updated_at too)');
  t.same(await itemsOf(orderId), items);
});

t.test(
  'customer metrics follow from the trigger; the order moves to the userId that claims it',
  async (t) => {
    const { definition } = newProcessor();
    const anon = randomName('anon');
    const user = randomName('user');
    const orderId = randomName('order');
    await write(definition, [
      orderRecord({
        order_id: orderId,
        anonymousId: anon,
        order_total: 40,
        order_status: 'delivered',
        timestamp: at(0),
      }),
    ]);
    t.equal((await orderRow(orderId))!.customer, anon);
    // A later-arriving record from the backend names the user, at an earlier time: a userId still wins.
    await write(definition, [orderRecord({ order_id: orderId, userId: user, timestamp: at(-5) })]);
    t.equal((await orderRow(orderId))!.customer, user);
    const { rows } = await db.query<{ customer_id: string; total_orders: number; total_revenue: string }>(
      'test.metrics',
      'SELECT customer_id, total_orders, total_revenue FROM customers WHERE customer_id = ANY($1) ORDER BY customer_id',
      [[anon, user]],
    );
    t.same(
      rows.map((r) => [r.customer_id, r.total_orders, r.total_revenue]),
      [
        [anon, 0, '0.00'],
        [user, 1, '40.00'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  },
);

t.test('values longer than their column are cut by characters and counted', async (t) => {
  const { definition, registry } = newProcessor();
  const orderId = randomName('order');
  const counts = await write(definition, [
    orderRecord({
      order_id: orderId,
      userId: randomName('user'),
      order_total: 1,
      shipping_city: '🏙'.repeat(120),
      currency: 'eurx',
    }),
  ]);
  t.same(counts.truncated, { shipping_city: 1, currency: 1 });
  definition.committed!([counts]);
  const truncated = registry.getSingleMetric('orders_truncated_values_total') as Counter<string>;
  t.equal(await countOf(truncated, { column: 'shipping_city' }), 1);
  const row = await orderRow(orderId);
  t.equal(row!.shipping_city, '🏙'.repeat(100));
  t.equal(row!.currency, 'EUR');
});
