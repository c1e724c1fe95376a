/**
 * The orders process through a crash and a full replay: kill -9 while a batch transaction is open,
 * restart, and the orders are what the records say; then replay both topics from offset 0 (stored
 * offsets and message de-duplication both wiped, so only the processor's own idempotence holds)
 * and nothing changes.
 */
import t from 'tap';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec, Topics, valueSubject } from '../../shared/src/topics.js';
import { testKafka } from '../../shared/test/kafka-support.js';
import { waitFor } from '../../shared/test/support.js';
import { startProcessor } from '../../shared/test/processor-process.js';
import { at, codec, db, orderRecord, randomName, track } from './support.js';

t.teardown(() => db.end());

const ORDERS = 60;
const STATUSES = ['shipped', 'delivered', 'refunded'] as const;

/** Everything the processor derived for these orders, as comparable text. */
async function snapshot(prefix: string): Promise<string> {
  const { rows } = await db.query(
    'test.snapshot',
    `SELECT o.order_id, c.customer_id AS customer, o.order_status, o.order_total, o.subtotal, o.ordered_at,
            o.confirmed_at, o.shipped_at, o.delivered_at, o.cancelled_at, o.is_first_order, o.payment_method,
            (SELECT json_agg(json_build_array(i.product_id, i.quantity, i.unit_price) ORDER BY i.product_id)
               FROM customer_order_items i WHERE i.order_id = o.id) AS items,
            c.total_orders, c.total_revenue, c.lifetime_value
     FROM customer_orders o JOIN customers c ON c.id = o.customer_id
     WHERE o.order_id LIKE $1 ORDER BY o.order_id`,
    [`${prefix}%`],
  );
  return JSON.stringify(rows);
}

t.test(
  'kill -9 mid-stream, restart, replay both topics from 0: the same orders',
  { timeout: 170_000 },
  async (t) => {
    const prefix = `${randomName('test-okr')}.`;
    const ordersTopic = prefix + Topics.orders;
    const eventsTopic = prefix + Topics.events;
    const kafka = testKafka();
    await ensureTopics(kafka, [
      { topic: ordersTopic, partitions: 2 },
      { topic: eventsTopic, partitions: 2 },
      dlqSpec(ordersTopic),
      dlqSpec(eventsTopic),
    ]);
    const orderSchema = await codec.register(valueSubject(Topics.orders), await readSchemaFile('order.avsc'));
    const eventSchema = await codec.register(valueSubject(Topics.events), await readSchemaFile('event.avsc'));

    // Each order: created on cdp.orders (or as an Order Completed track), then status updates, some
    // of them produced before the order itself (parked until it arrives).
    const orders: { key: string; value: Buffer }[] = [];
    const events: { key: string; value: Buffer }[] = [];
    const ids: string[] = [];
    const remember = <R extends { messageId: string }>(r: R): R => {
      ids.push(r.messageId);
      return r;
    };
    for (let i = 0; i < ORDERS; i++) {
      const orderId = `${prefix}o${String(i).padStart(3, '0')}`;
      const userId = `${prefix}u${i % 7}`;
      const status = STATUSES[i % STATUSES.length]!;
      const update = await codec.encode(
        orderSchema,
        remember(orderRecord({ order_id: orderId, userId, order_status: status, timestamp: at(30 + i) })),
      );
      if (i % 5 === 0) orders.push({ key: userId, value: update });
      if (i % 3 === 0) {
        events.push({
          key: userId,
          value: await codec.encode(
            eventSchema,
            remember(
              track(
                'Order Completed',
                {
                  order_id: orderId,
                  total: 10 + i,
                  products: [{ product_id: 'p', quantity: 1, price: 10 + i }],
                },
                { userId, timestamp: at(i) },
              ),
            ),
          ),
        });
      } else {
        orders.push({
          key: userId,
          value: await codec.encode(
            orderSchema,
            remember(
              orderRecord({
                order_id: orderId,
                userId,
                order_total: 20 + i,
                payment_method: 'card',
                timestamp: at(i),
              }),
            ),
          ),
        });
      }
      if (i % 5 !== 0) orders.push({ key: userId, value: update });
    }
    const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: ordersTopic, acks: -1, messages: orders });
    await producer.send({ topic: eventsTopic, acks: -1, messages: events });
    await producer.disconnect();

    const group = randomName('orders-group');
    const run = (env: Record<string, string> = {}) =>
      startProcessor('services/orders/src/main.ts', {
        TOPIC_PREFIX: prefix,
        ORDERS_GROUP: group,
        ORDERS_PORT: '0',
        ORDERS_MAX_BATCH: '10',
        ...env,
      });
    const landed = async () =>
      (
        await db.query<{ n: number }>(
          'test.count',
          'SELECT count(*)::int AS n FROM customer_orders WHERE order_id LIKE $1',
          [`${prefix}%`],
        )
      ).rows[0]!.n;
    const caughtUp = async () => {
      const { rows } = await db.query<{ n: number }>(
        'test.offsets',
        'SELECT coalesce(sum(next_offset), 0)::int AS n FROM consumer_offsets WHERE consumer_group = $1',
        [group],
      );
      return rows[0]!.n >= orders.length + events.length;
    };

    const first = run({ FAULT_PAUSE_BEFORE_COMMIT_MS: '400' });
    t.teardown(() => void first.child.kill('SIGKILL'));
    await waitFor('some orders committed', async () => (await landed()) > 5, 60_000, 50);
    first.child.kill('SIGKILL');
    t.match(await first.exit, { signal: 'SIGKILL' });
    t.ok((await landed()) < ORDERS, 'killed mid-stream');

    const second = run();
    t.teardown(() => void second.child.kill('SIGKILL'));
    await waitFor('every record applied', caughtUp, 90_000, 200);
    await second.stop();
    t.equal(second.exited()?.code, 0);
    t.equal(await landed(), ORDERS, 'every order');
    const after = await snapshot(prefix);
    const byStatus = JSON.parse(after) as { order_id: string; order_status: string }[];
    t.same(
      byStatus.map((o) => o.order_status),
      Array.from({ length: ORDERS }, (_, i) => STATUSES[i % STATUSES.length]),
      'each order has its latest status, whatever came first',
    );

    // Replay from offset 0 with no message de-duplication to help.
    await db.query('test.rewind', 'UPDATE consumer_offsets SET next_offset = 0 WHERE consumer_group = $1', [
      group,
    ]);
    await db.query(
      'test.forget',
      "DELETE FROM message_dedup WHERE scope = 'orders' AND message_id = ANY($1)",
      [ids],
    );
    const third = run();
    t.teardown(() => void third.child.kill('SIGKILL'));
    await waitFor('the replay applied', caughtUp, 90_000, 200);
    await third.stop();
    t.equal(await snapshot(prefix), after, 'the replay changed nothing');
  },
);
