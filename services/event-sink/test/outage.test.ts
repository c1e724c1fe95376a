/**
 * Outages are waited out, never skipped: the sink process keeps running while its PostgreSQL is
 * stopped in immediate mode (a crash) or its Kafka broker is killed, mid-stream, and afterwards
 * every event is in customer_events exactly once. Private servers, so nothing else is disturbed.
 */
import t from 'tap';
import pg from 'pg';
import { createKafka, createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec } from '../../shared/src/topics.js';
import { config, logger, randomName, waitFor } from '../../shared/test/support.js';
import { startPrivatePostgres } from '../../shared/test/private-postgres.js';
import { startPrivateBroker } from '../../shared/test/kafka-broker.js';
import { encode, privateTopic, produce, testEvents } from './support.js';
import { startSink } from '../../shared/test/processor-process.js';

async function count(url: string, ids: string[]): Promise<{ n: number; d: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM customer_events WHERE message_id = ANY($1)',
      [ids],
    );
    return rows[0];
  } finally {
    await c.end();
  }
}

t.test(
  'PostgreSQL crashes and comes back mid-stream: the sink waits, then every event lands once',
  async (t) => {
    const db = await startPrivatePostgres();
    t.teardown(() => db.destroy());
    const N = 3000;
    const topic = await privateTopic(2);
    const events = testEvents(N);
    const ids = events.map((e) => e.messageId);
    await produce(topic, events);

    const sink = startSink({
      DATABASE_URL: db.url,
      EVENT_SINK_TOPIC: topic,
      EVENT_SINK_GROUP: randomName('outage'),
      EVENT_SINK_MAX_BATCH: '100',
      FAULT_PAUSE_BEFORE_COMMIT_MS: '150',
    });
    t.teardown(() => void sink.child.kill('SIGKILL'));
    await waitFor('the first rows', async () => (await count(db.url, ids)).n > 0, 60_000);

    await db.stop('immediate');
    await new Promise((r) => setTimeout(r, 3000));
    t.equal(sink.child.exitCode, null, 'the sink is still running while PostgreSQL is down', {
      output: sink.lines().slice(-15),
    });
    await db.start();

    await waitFor('all rows', async () => (await count(db.url, ids)).n >= N, 120_000);
    await new Promise((r) => setTimeout(r, 1000));
    t.same(await count(db.url, ids), { n: N, d: N }, 'exactly N rows');
    t.ok(
      sink.lines().some((l) => l.includes('retrying the same batch')),
      'the failed batch was retried',
    );
    sink.child.kill('SIGTERM');
    t.equal((await sink.exit).code, 0);
  },
);

t.test('the Kafka broker is killed and restarted mid-stream: nothing lost, nothing twice', async (t) => {
  const broker = await startPrivateBroker();
  t.teardown(() => broker.destroy());
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'outage-test', logger });
  const topic = randomName('test.events');
  await ensureTopics(kafka, [{ topic, partitions: 2 }, dlqSpec(topic)]);
  const send = async (values: ReturnType<typeof testEvents>) => {
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: await Promise.all(values.map(async (v) => ({ key: v.userId, value: await encode(v) }))),
      });
    } finally {
      await producer.disconnect();
    }
  };
  const first = testEvents(2000);
  const second = testEvents(500);
  const ids = [...first, ...second].map((e) => e.messageId);
  await send(first);

  const sink = startSink({
    KAFKA_BROKERS: broker.brokers.join(','),
    EVENT_SINK_TOPIC: topic,
    EVENT_SINK_GROUP: randomName('outage'),
    EVENT_SINK_MAX_BATCH: '100',
    FAULT_PAUSE_BEFORE_COMMIT_MS: '100',
  });
  t.teardown(() => void sink.child.kill('SIGKILL'));
  await waitFor('the first rows', async () => (await count(config.databaseUrl, ids)).n > 0, 60_000);

  await broker.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(sink.child.exitCode, null, 'the sink is still running while Kafka is down');
  await broker.start();
  await send(second);

  await waitFor('all rows', async () => (await count(config.databaseUrl, ids)).n >= ids.length, 120_000);
  await new Promise((r) => setTimeout(r, 1000));
  t.same(await count(config.databaseUrl, ids), { n: ids.length, d: ids.length }, 'every event exactly once');
  sink.child.kill('SIGTERM');
  t.equal((await sink.exit).code, 0);
});
