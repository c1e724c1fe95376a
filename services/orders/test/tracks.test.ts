/**
 * The definition end to end on real bytes: Avro through the registry, decode, write. E-commerce
 * tracks on cdp.events land like the cdp.orders records that say the same.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { readSchemaFile, type AvroCodec } from '../../shared/src/avro/registry.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { batchOf, countOf, harness } from '../../shared/test/processor-harness.js';
import { createOrdersProcessor } from '../src/processor.js';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import type { Step } from '../../shared/src/pipeline/results.js';
import type { OrderUpdate } from '../src/mapping/fields.js';
import {
  at,
  codec,
  db,
  item,
  itemsOf,
  limits,
  newProcessor,
  orderRecord,
  orderRow,
  randomName,
  track,
  write,
} from './support.js';

t.teardown(() => db.end());

const schemaIds = new Map<string, Promise<number>>();
const schemaId = (topic: string, file: string) => {
  if (!schemaIds.has(topic))
    schemaIds.set(
      topic,
      readSchemaFile(file).then((s) => codec.register(valueSubject(topic), s)),
    );
  return schemaIds.get(topic)!;
};
const encodeEvent = async (v: unknown) => codec.encode(await schemaId(Topics.events, 'event.avsc'), v);
const encodeOrder = async (v: unknown) => codec.encode(await schemaId(Topics.orders, 'order.avsc'), v);
const message = (value: Buffer) =>
  ({ value, key: null, offset: '0', headers: {} }) as unknown as KafkaMessage;

async function decode(bytes: Buffer, topic: string): Promise<Step<OrderUpdate>> {
  const { definition } = newProcessor();
  return definition.decode(message(bytes), topic);
}

const ok = (step: Step<OrderUpdate>): OrderUpdate => {
  if (!step.ok) throw new Error(`not ok: ${step.reason}`);
  return step.value;
};

/** A row without what necessarily differs between two orders. */
const comparable = async (orderId: string) => {
  const row = await orderRow(orderId);
  const {
    id: _i,
    order_id: _o,
    customer_id: _c,
    customer: _cu,
    created_at: _ca,
    updated_at: _u,
    ...rest
  } = row!;
  return rest;
};

t.test('the definition: topics, group, dedup key', async (t) => {
  const { definition } = newProcessor();
  t.same(definition.topics, ['cdp.orders', 'cdp.events']);
  t.equal(definition.name, 'orders');
  t.equal(definition.dedupScope, 'orders');
  const u = ok(
    await decode(
      await encodeOrder(orderRecord({ order_id: 'o', userId: 'u', sourceId: null })),
      'cdp.orders',
    ),
  );
  t.same(definition.dedupKey!(u), { sourceKey: 'kafka', messageId: u.messageId });
});

t.test('events that are not order tracks are dropped; broken bytes are dead letters', async (t) => {
  t.same(
    await decode(await encodeEvent(track('Product Viewed', { sku: 'x' }, { userId: 'u' })), 'cdp.events'),
    {
      ok: false,
      drop: true,
      reason: 'not-an-order-event',
    },
  );
  t.match(
    await decode(
      await encodeEvent(track('Order Completed', {}, { userId: 'u', type: 'PAGE' })),
      'cdp.events',
    ),
    {
      drop: true,
    },
  );
  await t.rejects(decode(Buffer.from('{"order_id":"x"}'), 'cdp.orders'), {
    name: 'PoisonError',
    reason: 'undecodable',
  });
  t.match(
    await decode(await encodeEvent(track('Order Completed', { total: 1 }, { userId: 'u' })), 'cdp.events'),
    {
      ok: false,
      reason: 'schema-invalid',
      errors: [/no order_id/],
    },
  );
});

t.test(
  'through the runtime: tombstones, bytes that are not Avro and a throwing decode are dead letters',
  async (t) => {
    const { definition } = newProcessor();
    const published: OutRecord[] = [];
    const h = await harness(definition, { db, codec, publish: async (r) => void published.push(...r) });
    const orderId = randomName('order');
    const batch = batchOf('cdp.orders', [
      Buffer.alloc(0),
      Buffer.from('{"order_id":"x"}'),
      await encodeOrder(orderRecord({ order_id: orderId, userId: randomName('user'), order_total: 5 })),
    ]);
    (batch.messages[0] as { value: Buffer | null }).value = null; // a tombstone
    await h.applier.handle(batch);
    t.equal(await countOf(h.metrics.deadLettered, { reason: 'undecodable' }), 2);
    t.equal(published.length, 2, 'two dead letters');
    t.match(await orderRow(orderId), { order_total: '5.00' }, 'the rest of the batch is written');

    // Anything else decode throws, not retryable, is a dead letter too (the runtime's, not ours).
    const broken = createOrdersProcessor(
      {
        codec: { decode: () => Promise.reject(new TypeError('boom')) } as unknown as AvroCodec,
        registry: new Registry(),
      },
      { groupId: randomName('orders-test'), topicPrefix: '', maxFutureMs: limits.maxFutureMs },
    );
    const hb = await harness(broken, { db, codec, publish: async () => {} });
    await hb.applier.handle(batchOf('cdp.events', [Buffer.from('x')]));
    t.equal(await countOf(hb.metrics.deadLettered, { reason: 'mapping-failed' }), 1);
  },
);

t.test('Order Completed lands like the cdp.orders record that says the same', async (t) => {
  const { definition } = newProcessor();
  const [viaTrack, viaOrders] = [randomName('order'), randomName('order')];
  const completed = ok(
    await decode(
      await encodeEvent(
        track(
          'Order Completed',
          {
            order_id: viaTrack,
            total: 33,
            subtotal: 30,
            tax: 2,
            shipping: 1,
            currency: 'EUR',
            products: [{ product_id: 'p-1', name: 'Book', category: 'Books', price: 15, quantity: 2 }],
          },
          { userId: randomName('user'), timestamp: at(0) },
        ),
      ),
      'cdp.events',
    ),
  );
  const record = ok(
    await decode(
      await encodeOrder(
        orderRecord({
          order_id: viaOrders,
          userId: randomName('user'),
          order_status: 'confirmed',
          order_total: 33,
          subtotal: 30,
          tax_amount: 2,
          shipping_amount: 1,
          currency: 'EUR',
          items: [
            item({
              product_id: 'p-1',
              product_name: 'Book',
              product_category: 'Books',
              unit_price: 15,
              quantity: 2,
            }),
          ],
          timestamp: at(0),
        }),
      ),
      'cdp.orders',
    ),
  );
  t.match(await write(definition, [completed, record]), { created: 2 });
  t.same(await comparable(viaTrack), await comparable(viaOrders));
  t.same(await itemsOf(viaTrack), await itemsOf(viaOrders));
  t.match(await orderRow(viaTrack), { order_status: 'confirmed', order_total: '33.00', currency: 'EUR' });
});

t.test('Order Refunded and Order Cancelled change the status like a cdp.orders update', async (t) => {
  const { definition } = newProcessor();
  const user = randomName('user');
  const [a, b] = [randomName('order'), randomName('order')];
  await write(definition, [
    track('Order Completed', { order_id: a, total: 10 }, { userId: user, timestamp: at(0) }),
    track('Order Completed', { order_id: b, total: 20 }, { userId: user, timestamp: at(1) }),
  ]);
  await write(definition, [
    track('Order Refunded', { order_id: a, total: 10 }, { userId: user, timestamp: at(60) }),
    track('Order Cancelled', { order_id: b }, { userId: user, timestamp: at(61) }),
  ]);
  t.match(await orderRow(a), { order_status: 'refunded', order_total: '10.00' });
  const cancelled = await orderRow(b);
  t.match(cancelled, { order_status: 'cancelled', order_total: '20.00' });
  t.equal((cancelled!.cancelled_at as Date).getTime(), at(61));
  t.equal((cancelled!.confirmed_at as Date).getTime(), at(1));
});

t.test('a cancellation tracked before its order is kept and applied', async (t) => {
  const { definition } = newProcessor();
  const user = randomName('user');
  const orderId = randomName('order');
  t.match(
    await write(definition, [
      track('Order Cancelled', { order_id: orderId }, { userId: user, timestamp: at(30) }),
    ]),
    {
      parked: 1,
    },
  );
  await write(definition, [
    orderRecord({ order_id: orderId, userId: user, order_total: 8, timestamp: at(0) }),
  ]);
  t.match(await orderRow(orderId), { order_status: 'cancelled', order_total: '8.00' });
});
