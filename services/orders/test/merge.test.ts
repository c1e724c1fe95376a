/** Unit tests of the state: last writer wins per field, status timestamps, the row a state makes. */
import t from 'tap';
import fc from 'fast-check';
import { canonicalJson } from '../../shared/src/text/canonical-json.js';
import { beats, mergeAll, mergeUpdate, type OrderState } from '../src/state/merge.js';
import { isParked, orderColumns, statusTime } from '../src/state/order-row.js';
import type { OrderUpdate } from '../src/mapping/fields.js';
import { at, item, orderRecord, T0, update } from './fixtures.js';

const rec = (o: Omit<Parameters<typeof orderRecord>[0], 'order_id'>, messageId?: string): OrderUpdate =>
  update(orderRecord({ order_id: 'o-1', userId: 'u-1', ...o, ...(messageId ? { messageId } : {}) }));
const fold = (us: OrderUpdate[]): OrderState => mergeAll(undefined, us).state!;

t.test('per field, the later event time wins, whatever the arrival order', async (t) => {
  const a = rec({ order_total: 10, payment_status: 'pending', timestamp: at(0) });
  const b = rec({ payment_status: 'paid', timestamp: at(5) });
  const c = rec({ order_total: 12, timestamp: at(3) });
  for (const order of [
    [a, b, c],
    [c, b, a],
    [b, a, c],
  ]) {
    const s = fold(order);
    t.equal(s.fields.order_total?.v, 12);
    t.equal(s.fields.payment_status?.v, 'paid');
    t.equal(s.firstSeen, at(0));
  }
});

t.test('a tie of event times is broken by messageId; the same record again changes nothing', async (t) => {
  const x = rec({ payment_status: 'x', timestamp: at(1) }, 'm-a');
  const y = rec({ payment_status: 'y', timestamp: at(1) }, 'm-b');
  t.equal(fold([x, y]).fields.payment_status?.v, 'y');
  t.equal(fold([y, x]).fields.payment_status?.v, 'y');
  const once = fold([x]);
  const twice = mergeUpdate(once, x);
  t.equal(twice.changed.size, 0, 'idempotent');
  t.same(twice.state, once);
});

t.test('an empty text clears a field; a missing one leaves it', async (t) => {
  const s = fold([
    rec({ order_total: 1, notes: 'gift', timestamp: at(0) }),
    rec({ notes: '', timestamp: at(1) }),
    rec({ payment_method: 'card', timestamp: at(2) }),
  ]);
  t.equal(s.fields.notes?.v, null);
  t.equal(orderColumns(s).notes, null);
  t.equal(orderColumns(s).payment_method, 'card');
});

t.test('items are one field: a later list replaces the earlier one whole', async (t) => {
  const s = fold([
    rec({ order_total: 1, items: [item({ product_id: 'a' }), item({ product_id: 'b' })], timestamp: at(2) }),
    rec({ items: [item({ product_id: 'c' })], timestamp: at(1) }),
  ]);
  t.same(
    s.items?.v.map((i) => i.product_id),
    ['a', 'b'],
  );
});

t.test('a userId claims the order over an anonymousId, whatever the times', async (t) => {
  const anon = update(orderRecord({ order_id: 'o-1', anonymousId: 'a-1', order_total: 1, timestamp: at(9) }));
  const user = update(orderRecord({ order_id: 'o-1', userId: 'u-1', timestamp: at(0) }));
  t.same(fold([anon, user]).customer.v, { id: 'u-1', type: 'user_id' });
  t.same(fold([user, anon]).customer.v, { id: 'u-1', type: 'user_id' });
});

t.test('status timestamps', async (t) => {
  const s = fold([
    rec({ order_total: 5, timestamp: at(0) }),
    rec({ order_status: 'delivered', timestamp: at(50) }),
    rec({ order_status: 'shipped', timestamp: at(30) }),
    rec({ order_status: 'shipped', timestamp: at(20) }),
  ]);
  t.equal(orderColumns(s).order_status, 'delivered', 'the latest status wins');
  t.equal(statusTime(s, 'shipped'), at(20), 'the earliest record stating shipped');
  t.equal(statusTime(s, 'delivered'), at(50));
  t.equal(statusTime(s, 'confirmed'), at(0), 'placed without a status: confirmed by default');
  t.equal(statusTime(s, 'cancelled'), null);

  const pending = fold([
    rec({ order_total: 5, order_status: 'pending', timestamp: at(0) }),
    rec({ order_total: 6, timestamp: at(5) }),
  ]);
  t.equal(statusTime(pending, 'confirmed'), null, 'an order said to be pending is not confirmed by default');
  t.equal(orderColumns(pending).order_status, 'pending');

  const explicit = fold([
    rec({ order_total: 5, order_status: 'cancelled', cancelled_at: at(-3), timestamp: at(0) }),
  ]);
  t.equal(statusTime(explicit, 'cancelled'), at(-3), 'an explicit *_at wins');
});

t.test('parked until an order_total arrives; the row then has its defaults', async (t) => {
  const early = fold([rec({ order_status: 'shipped', timestamp: at(10) })]);
  t.ok(isParked(early));
  const s = mergeUpdate(early, rec({ order_total: 19.99, timestamp: at(0) })).state;
  t.notOk(isParked(s));
  t.match(orderColumns(s), {
    order_status: 'shipped',
    order_total: '19.99',
    subtotal: '19.99',
    tax_amount: '0.00',
    shipping_amount: '0.00',
    discount_amount: '0.00',
    currency: 'USD',
    is_subscription: false,
    custom_fields: {},
    ordered_at: new Date(T0).toISOString(),
  });
});

t.test(
  'a tie of time and messageId compares values as canonical JSON: key order is no difference',
  async (t) => {
    const cell = (v: unknown) => ({ v, t: T0, m: 'm' });
    t.notOk(beats(cell({ b: 1, a: [{ d: 2, c: 3 }] }), cell({ a: [{ c: 3, d: 2 }], b: 1 })));
    t.notOk(beats(cell({ a: [{ c: 3, d: 2 }], b: 1 }), cell({ b: 1, a: [{ d: 2, c: 3 }] })));
    t.not(
      beats(cell({ a: 1 }), cell({ a: 2 })),
      beats(cell({ a: 2 }), cell({ a: 1 })),
      'else one of two wins',
    );
  },
);

t.test('property: any order, any repetition, the same state', async (t) => {
  const statuses = [null, 'pending', 'confirmed', 'shipped', 'delivered', 'cancelled', 'refunded'] as const;
  const recordArb = fc.record({
    minute: fc.integer({ min: 0, max: 20 }),
    status: fc.constantFrom(...statuses),
    total: fc.option(fc.integer({ min: 0, max: 10_000 }).map((c) => c / 100)),
    note: fc.option(fc.constantFrom('', 'a', 'b')),
    items: fc.option(fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 3 })),
    messageId: fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5', 'm6'),
  });
  await fc.assert(
    fc.property(fc.array(recordArb, { minLength: 1, maxLength: 12 }), fc.integer(), (specs, seed) => {
      // One messageId is one record: the same id never carries two contents.
      const byId = new Map(specs.map((s) => [s.messageId, s]));
      const updates = [...byId.values()].map((s) =>
        rec(
          {
            timestamp: at(s.minute),
            order_status: s.status,
            order_total: s.total,
            notes: s.note,
            items: s.items?.map((p) => item({ product_id: p })) ?? null,
          },
          s.messageId,
        ),
      );
      const shuffled = shuffle([...updates, ...updates.slice(0, 2)], seed);
      t.same(canonicalJson(fold(shuffled)), canonicalJson(fold(updates)));
    }),
    { seed: Number(process.env.FUZZ_SEED ?? 20260110), numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
  );
});

/** A deterministic shuffle (mulberry32). */
function shuffle<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
