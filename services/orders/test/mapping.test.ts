/** Unit tests of the mappings: cdp.orders records and e-commerce tracks -> order updates. */
import t from 'tap';
import { mapOrderRecord } from '../src/mapping/order-record.js';
import { isOrderTrack, mapOrderTrack } from '../src/mapping/order-track.js';
import { roundMoney, moneyText } from '../../shared/src/records/money.js';
import { mergeAll } from '../src/state/merge.js';
import { orderColumns } from '../src/state/order-row.js';
import { item, limits, orderRecord, T0, track } from './fixtures.js';

t.test('money rounds half away from zero through the decimal text', async (t) => {
  t.same([1.005, 2.675, -1.005, 0.004, 1e9 + 0.015].map(roundMoney), [1.01, 2.68, -1.01, 0, 1000000000.02]);
  t.equal(moneyText(12.3), '12.30');
  t.equal(moneyText(-0.001), '0.00');
});

t.test('a cdp.orders record keeps only what it carries', async (t) => {
  const r = orderRecord({ order_id: 'o-1', userId: 'u-1', order_status: 'shipped', timestamp: T0 });
  const m = mapOrderRecord(r, limits);
  t.ok(m.ok);
  if (!m.ok) return;
  t.same(m.value.fields, { order_status: 'shipped' });
  t.equal(m.value.items, null);
  t.same(m.value.customer, { id: 'u-1', type: 'user_id' });
  t.equal(m.value.sourceKey, 'test-source');
  t.equal(m.value.eventTime, T0);
});

t.test('a cdp.orders record normalises its values', async (t) => {
  const m = mapOrderRecord(
    orderRecord({
      order_id: 'o-1',
      anonymousId: 'a-1',
      sourceId: null,
      order_total: 10.125,
      currency: 'eur',
      notes: 'a\u0000b',
      payment_method: '',
      campaign_id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      custom_fields_json: '{"gift":true}',
      items: [item({ unit_price: 2.5, quantity: 3, discount_amount: 0.5 })],
      timestamp: T0 + 1000,
      sentAt: T0 + 2000, // the client's clock runs 1 s ahead of ours
      receivedAt: T0 + 1000,
    }),
    limits,
  );
  t.ok(m.ok);
  if (!m.ok) return;
  t.same(m.value.customer, { id: 'a-1', type: 'anonymous_id' });
  t.equal(m.value.sourceKey, 'kafka', 'a record produced straight to Kafka');
  t.equal(m.value.eventTime, T0, 'timestamp corrected by receivedAt - sentAt');
  t.same(m.value.fields, {
    order_total: 10.13,
    currency: 'EUR',
    campaign_id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    payment_method: null, // an empty string clears
    notes: 'a\uFFFDb',
    custom_fields: { gift: true },
  });
  t.match(m.value.items, [{ unit_price: 2.5, quantity: 3, discount_amount: 0.5, total_price: 7 }]);
});

t.test('a promotion code is kept whole; only the row has it cut to 50, counted as cut', async (t) => {
  const code = '\u{1F600}'.repeat(60); // 60 characters, 120 UTF-16 units
  const m = mapOrderRecord(
    orderRecord({ order_id: 'o-1', userId: 'u-1', order_total: 1, promotion_code: code }),
    limits,
  );
  t.ok(m.ok);
  if (!m.ok) return;
  t.equal(m.value.fields.promotion_code, code);
  t.same(m.value.truncated, ['promotion_code']);
  const row = orderColumns(mergeAll(undefined, [m.value]).state!);
  t.equal(row.promotion_code, '\u{1F600}'.repeat(50));
  const fits = mapOrderTrack(
    track('Order Completed', { order_id: 'o', total: 1, coupon: 'x'.repeat(50) }, { userId: 'u' }),
    limits,
  );
  t.match(fits, { ok: true, value: { truncated: [] } });
});

t.test('what a cdp.orders record cannot store is a dead letter with a clear reason', async (t) => {
  const base = { order_id: 'o-1', userId: 'u-1' };
  const cases: [string, Parameters<typeof orderRecord>[0], string, RegExp][] = [
    ['no order_id', { ...base, order_id: '' }, 'schema-invalid', /no order_id/],
    ['order_id too long', { ...base, order_id: 'x'.repeat(101) }, 'impossible-value', /order_id is longer/],
    ['no customer', { order_id: 'o-1' }, 'schema-invalid', /neither userId nor anonymousId/],
    ['future', { ...base, timestamp: Date.now() + 3 * 86_400_000 }, 'future-timestamp', /after receipt/],
    ['before 2000', { ...base, timestamp: Date.UTC(1999, 0, 1) }, 'impossible-value', /before 2000/],
    ['total too large', { ...base, order_total: 1e11 }, 'impossible-value', /order_total/],
    // Past 1e21 a double's text has an exponent: rounding through it would give NaN.
    ['total huge', { ...base, order_total: 1e300 }, 'impossible-value', /order_total .* does not fit/],
    ['subtotal huge negative', { ...base, subtotal: -1e25 }, 'impossible-value', /subtotal .* does not fit/],
    ['tax NaN', { ...base, tax_amount: NaN }, 'impossible-value', /tax_amount is not a finite number/],
    [
      'campaign not uuid',
      { ...base, campaign_id: 'spring' },
      'impossible-value',
      /campaign_id is not a UUID/,
    ],
    [
      'custom fields not JSON',
      { ...base, custom_fields_json: '{' },
      'schema-invalid',
      /custom_fields is not JSON/,
    ],
    ['custom fields array', { ...base, custom_fields_json: '[1]' }, 'schema-invalid', /not a JSON object/],
    [
      'too deep',
      { ...base, custom_fields_json: '{"a":'.repeat(70) + '1' + '}'.repeat(70) },
      'too-deep',
      /deeper than 64/,
    ],
    [
      'shipped_at far future',
      { ...base, shipped_at: Date.now() + 40 * 86_400_000 },
      'future-timestamp',
      /shipped_at/,
    ],
    [
      'item quantity',
      { ...base, items: [item({ quantity: 1.5 })] },
      'impossible-value',
      /items\[0\]\.quantity/,
    ],
  ];
  for (const [name, o, reason, error] of cases) {
    const m = mapOrderRecord(orderRecord(o), limits);
    t.equal(m.ok, false, name);
    if (m.ok) continue;
    t.equal(m.reason, reason, `${name}: ${reason}`);
    t.match(m.errors[0], error, `${name}: says why`);
  }
});

t.test('only the three order tracks are ours', async (t) => {
  t.ok(isOrderTrack({ type: 'TRACK', event: 'Order Completed' }));
  t.ok(isOrderTrack({ type: 'TRACK', event: 'Order Refunded' }));
  t.ok(isOrderTrack({ type: 'TRACK', event: 'Order Cancelled' }));
  t.notOk(isOrderTrack({ type: 'TRACK', event: 'Order Updated' }));
  t.notOk(isOrderTrack({ type: 'TRACK', event: 'constructor' }));
  t.notOk(isOrderTrack({ type: 'PAGE', event: 'Order Completed' }));
});

t.test('Order Completed maps Segment e-commerce properties onto the order', async (t) => {
  const m = mapOrderTrack(
    track(
      'Order Completed',
      {
        order_id: 50314,
        checkout_id: 'c-9',
        total: '27.50',
        revenue: 25,
        subtotal: 22.5,
        tax: 2,
        shipping: 3,
        discount: 2.5,
        coupon: 'HASBEEN',
        currency: 'usd',
        products: [
          {
            product_id: 'p-1',
            sku: 'S-1',
            name: 'Monopoly',
            category: 'Games',
            brand: 'Hasbro',
            price: 19,
            quantity: 1,
            variant: 'classic',
          },
          { sku: 'S-2', price: '1.75', quantity: '2' },
        ],
      },
      { userId: 'u-1' },
    ),
    limits,
  );
  t.ok(m.ok);
  if (!m.ok) return;
  t.equal(m.value.orderId, '50314', 'a numeric order_id becomes its text');
  t.same(m.value.fields, {
    order_status: 'confirmed',
    order_total: 27.5,
    subtotal: 22.5,
    tax_amount: 2,
    shipping_amount: 3,
    discount_amount: 2.5,
    promotion_code: 'HASBEEN',
    currency: 'USD',
    custom_fields: { checkout_id: 'c-9' },
  });
  t.same(m.value.items, [
    {
      product_id: 'p-1',
      product_name: 'Monopoly',
      product_category: 'Games',
      product_subcategory: null,
      product_sku: 'S-1',
      product_brand: 'Hasbro',
      unit_price: 19,
      quantity: 1,
      total_price: 19,
      discount_amount: 0,
      product_attributes: { variant: 'classic' },
    },
    {
      product_id: 'S-2',
      product_name: 'S-2',
      product_category: null,
      product_subcategory: null,
      product_sku: 'S-2',
      product_brand: null,
      unit_price: 1.75,
      quantity: 2,
      total_price: 3.5,
      discount_amount: 0,
      product_attributes: {},
    },
  ]);
});

t.test(
  'status: Completed is confirmed unless it states one; Refunded and Cancelled say theirs',
  async (t) => {
    const status = (event: string, props: Record<string, unknown>) => {
      const m = mapOrderTrack(track(event, { order_id: 'o-1', ...props }, { userId: 'u' }), limits);
      return m.ok ? m.value.fields.order_status : m.reason;
    };
    t.equal(status('Order Completed', {}), 'confirmed');
    t.equal(status('Order Completed', { order_status: 'pending' }), 'pending');
    t.equal(status('Order Completed', { status: 'nonsense' }), 'confirmed');
    t.equal(status('Order Refunded', { status: 'delivered' }), 'refunded');
    t.equal(status('Order Cancelled', {}), 'cancelled');
    const m = mapOrderTrack(track('Order Cancelled', { order_id: 'o-1' }, { userId: 'u' }), limits);
    t.ok(m.ok && m.value.fields.order_total === undefined && m.value.items === null, 'carries nothing else');
  },
);

t.test('an order track without order_id, or with a product it cannot name, is a dead letter', async (t) => {
  const m1 = mapOrderTrack(track('Order Completed', { total: 3 }, { userId: 'u' }), limits);
  t.match(m1, { ok: false, reason: 'schema-invalid', errors: [/Order Completed has no order_id/] });
  const m2 = mapOrderTrack(
    track('Order Completed', { order_id: 'o', products: [{ name: 'x' }] }, { userId: 'u' }),
    limits,
  );
  t.match(m2, {
    ok: false,
    reason: 'schema-invalid',
    errors: [/products\[0\] has neither product_id nor sku/],
  });
  const m3 = mapOrderTrack(
    track('Order Completed', { order_id: 'o' }, { propertiesJson: '[]', userId: 'u' }),
    limits,
  );
  t.match(m3, { ok: false, reason: 'schema-invalid' });
  const m4 = mapOrderTrack(track('Order Completed', { order_id: 'o', total: 1e12 }, { userId: 'u' }), limits);
  t.match(m4, { ok: false, reason: 'impossible-value' });
});

t.test('revenue stands in for a missing total', async (t) => {
  const m = mapOrderTrack(track('Order Completed', { order_id: 'o', revenue: 12 }, { userId: 'u' }), limits);
  t.ok(m.ok && m.value.fields.order_total === 12);
});
