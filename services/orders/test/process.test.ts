/**
 * The process as `make up` runs it: main.ts on private topics (TOPIC_PREFIX) and its own group,
 * records produced to both topics with the registered schemas, rows in PostgreSQL, /metrics, and a
 * clean exit on SIGTERM.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec, Topics, valueSubject } from '../../shared/src/topics.js';
import { freePort } from '../../shared/test/kafka-broker.js';
import { testKafka } from '../../shared/test/kafka-support.js';
import { waitFor } from '../../shared/test/support.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { at, codec, db, orderRecord, orderRow, randomName, track } from './support.js';

t.teardown(() => db.end());

t.test('main.ts consumes cdp.orders and the order tracks of cdp.events', { timeout: 120_000 }, async (t) => {
  const prefix = `${randomName('test-orders')}.`;
  const ordersTopic = prefix + Topics.orders;
  const eventsTopic = prefix + Topics.events;
  const kafka = testKafka();
  await ensureTopics(kafka, [
    { topic: ordersTopic, partitions: 2 },
    { topic: eventsTopic, partitions: 2 },
    dlqSpec(ordersTopic),
    dlqSpec(eventsTopic),
  ]);

  const user = randomName('user');
  const [viaOrders, viaTrack] = [randomName('order'), randomName('order')];
  const orderSchema = await codec.register(valueSubject(Topics.orders), await readSchemaFile('order.avsc'));
  const eventSchema = await codec.register(valueSubject(Topics.events), await readSchemaFile('event.avsc'));
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({
    topic: ordersTopic,
    acks: -1,
    messages: [
      {
        key: user,
        value: await codec.encode(
          orderSchema,
          orderRecord({ order_id: viaOrders, userId: user, order_total: 12, timestamp: at(0) }),
        ),
      },
    ],
  });
  await producer.send({
    topic: eventsTopic,
    acks: -1,
    messages: await Promise.all(
      [
        track('Product Viewed', { sku: 's' }, { userId: user, timestamp: at(1) }),
        track('Order Completed', { order_id: viaTrack, total: 7 }, { userId: user, timestamp: at(2) }),
      ].map(async (v) => ({ key: user, value: await codec.encode(eventSchema, v) })),
    ),
  });

  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', repoPath('services', 'orders', 'src', 'main.ts')],
    {
      env: {
        ...process.env,
        TOPIC_PREFIX: prefix,
        ORDERS_GROUP: randomName('orders-group'),
        ORDERS_PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await waitFor('both orders', async () => (await orderRow(viaOrders)) && (await orderRow(viaTrack)), 60_000);
  t.match(await orderRow(viaTrack), {
    order_status: 'confirmed',
    order_total: '7.00',
    is_first_order: false,
  });
  t.match(await orderRow(viaOrders), { is_first_order: true });

  const metrics = await waitFor(
    'the counters',
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /orders_created_total\{[^}]*\} 2/.test(text) && text;
    },
    10_000,
  );
  t.match(metrics, /processor_records_skipped_total\{[^}]*reason="not-an-order-event"[^}]*\} 1/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean exit on SIGTERM');
});
