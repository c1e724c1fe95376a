/**
 * Derived records through the outbox, as processes: kill -9 between the COMMIT and the relay, and
 * between the relay's produce and its delete. Each change is published, once per change id.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createKafka, createProducer, ensureTopics } from '../src/kafka/client.js';
import { readToEnd } from '../src/kafka/read-to-end.js';
import { createDb } from '../src/pg/gateway.js';
import { BatchingPublisher } from '../src/kafka/batching-publisher.js';
import { CHANGE_ID_HEADER } from '../src/pipeline/outbox.js';
import { OutboxRelay } from '../src/pipeline/outbox-relay.js';
import { dlqSpec } from '../src/topics.js';
import { config, logger, randomName, waitFor } from './support.js';
import { startProcessor } from './processor-process.js';

const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'outbox-test', logger });
const db = createDb({
  connectionString: config.databaseUrl,
  service: 'outbox-test',
  registry: new Registry(),
});
t.teardown(() => db.end());

const echo = (topic: string, group: string, env: Record<string, string> = {}) =>
  startProcessor('services/shared/test/fixtures/echo-processor.ts', {
    ECHO_TOPIC: topic,
    ECHO_GROUP: group,
    ECHO_PORT: '0',
    ECHO_MAX_BATCH: '10',
    ...env,
  });

async function topicWith(ids: string[]): Promise<string> {
  const topic = randomName('test.echo');
  await ensureTopics(kafka, [
    { topic, partitions: 1 },
    { topic: `${topic}.out`, partitions: 1 },
    dlqSpec(topic),
  ]);
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: ids.map((id) => ({ key: id, value: Buffer.from(`v-${id}`) })),
  });
  await producer.disconnect();
  return topic;
}

/** Change ids on `<topic>.out`, in order, one entry per record on the wire ('wrong value' if its value is not its input's). */
async function published(topic: string): Promise<string[]> {
  const ids: string[] = [];
  await readToEnd(kafka, `${topic}.out`, (_p, m) => {
    const id = String(m.headers?.[CHANGE_ID_HEADER]);
    ids.push(m.value?.toString() === `v-${id}` ? id : 'wrong value');
  });
  return ids;
}

const outboxRows = async (ids: string[]) =>
  (
    await db.query<{ n: number }>(
      'test.outbox',
      'SELECT count(*)::int AS n FROM outbox WHERE change_id = ANY($1::uuid[])',
      [ids],
    )
  ).rows[0]!.n;

t.test('kill -9 after the COMMIT, before the relay: the restart publishes each change once', async (t) => {
  const ids = Array.from({ length: 25 }, () => randomUUID());
  const topic = await topicWith(ids);
  const group = randomName('echo');

  const first = echo(topic, group, { FAULT_KILL_AROUND_RELAY: '1' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.match(await first.exit, { signal: 'SIGKILL' }, 'it died right after its first commit');
  const waiting = await outboxRows(ids);
  t.ok(waiting > 0, `${waiting} changes committed and waiting in the outbox`);
  t.same(await published(topic), [], 'nothing relayed yet');

  const second = echo(topic, group);
  t.teardown(() => void second.child.kill('SIGKILL'));
  await waitFor(
    'every change relayed',
    async () => (await published(topic)).length >= ids.length,
    30_000,
    250,
  );
  await new Promise((r) => setTimeout(r, 500));
  t.same(await published(topic), ids, 'every change once, in commit order');
  t.equal(await outboxRows(ids), 0, 'the outbox is empty again');
  await second.stop();
  t.equal(second.exited()?.code, 0);
});

t.test('kill -9 after the produce, before the delete: re-published with the same change id', async (t) => {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  const topic = await topicWith(ids);
  const group = randomName('echo');

  const first = echo(topic, group, { FAULT_KILL_AROUND_RELAY: '2', ECHO_MAX_BATCH: '100' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.match(await first.exit, { signal: 'SIGKILL' }, 'it died between the produce and the delete');
  const onWire = await published(topic);
  t.ok(onWire.length > 0, 'the relay had produced before it died');
  t.ok((await outboxRows(ids)) > 0, 'and its rows were still in the outbox');

  const second = echo(topic, group);
  t.teardown(() => void second.child.kill('SIGKILL'));
  await waitFor('the outbox drained', async () => (await outboxRows(ids)) === 0, 30_000, 250);
  await second.stop();
  const all = await published(topic);
  t.ok(
    all.length > ids.length,
    `at least once on the wire (${all.length} records for ${ids.length} changes)`,
  );
  t.same([...new Set(all)].sort(), [...ids].sort(), 'exactly once per change id: what a consumer keeps');
});

t.test('a topic Kafka refuses holds up only its own outbox rows', async (t) => {
  const ids = Array.from({ length: 3 }, () => randomUUID());
  const good = await topicWith([]);
  const missing = randomName('test.no-such-topic');
  const lost = randomUUID();
  await db.query(
    'test.outbox-insert',
    `INSERT INTO outbox (change_id, topic, record_key, record_value, producer)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[])`,
    [
      [lost, ...ids],
      [missing, ...ids.map(() => `${good}.out`)],
      [lost, ...ids],
      [Buffer.from('x'), ...ids.map((id) => Buffer.from(`v-${id}`))],
      ['test', 'test', 'test', 'test'],
    ],
  );
  t.teardown(() => db.query('test.outbox-clean', 'DELETE FROM outbox WHERE change_id = $1', [lost]));
  const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const publisher = new BatchingPublisher(producer, {
    lingerMs: 0,
    maxBatchRecords: 1000,
    timeoutMs: 10_000,
  });
  const topicsTried: string[] = [];
  const relay = new OutboxRelay({
    db,
    producer: 'test',
    publish: (r) => {
      topicsTried.push(r[0]!.topic);
      return publisher.publish(r);
    },
    logger,
  });
  await waitFor(
    'the good rows relayed',
    async () => {
      await relay.drain();
      return (await outboxRows(ids)) === 0;
    },
    30_000,
    200,
  );
  t.same((await published(good)).sort(), [...ids].sort(), 'the rows behind it were relayed');
  t.equal(await outboxRows([lost]), 1, 'the refused one waits in the outbox');
  t.same((await relay.drain()).stuck, [missing], 'and is reported as stuck on its topic');
  topicsTried.length = 0;
  await relay.drain();
  t.same(topicsTried, [], 'the next pass, within its backoff, does not try the refused topic again');
});

t.test(
  'a record Kafka refuses for good goes to outbox_dead_letters; its neighbours are relayed',
  async (t) => {
    const topic = randomName('test.small');
    await ensureTopics(kafka, [{ topic, partitions: 1, config: { 'max.message.bytes': '2048' } }]);
    const [before, big, after] = [randomUUID(), randomUUID(), randomUUID()];
    const producerName = randomName('t');
    await db.query(
      'test.outbox-insert',
      `INSERT INTO outbox (change_id, topic, record_key, record_value, producer)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[])`,
      [
        [before, big, after],
        [topic, topic, topic],
        [before, big, after],
        [Buffer.from(`v-${before}`), Buffer.alloc(10_000, 0x61), Buffer.from(`v-${after}`)],
        [producerName, producerName, producerName],
      ],
    );
    t.teardown(() =>
      db.query('test.odl-clean', 'DELETE FROM outbox_dead_letters WHERE change_id = $1', [big]),
    );
    const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const publisher = new BatchingPublisher(producer, {
      lingerMs: 0,
      maxBatchRecords: 1000,
      timeoutMs: 10_000,
    });
    let deadLettered = 0;
    const relay = new OutboxRelay({
      db,
      producer: producerName,
      publish: (r) => publisher.publish(r),
      logger,
      onDeadLettered: (n) => (deadLettered += n),
    });
    const { relayed, stuck } = await relay.drain();
    t.same({ relayed, stuck, deadLettered }, { relayed: 2, stuck: [], deadLettered: 1 });
    const onTopic: string[] = [];
    await readToEnd(kafka, topic, (_p, m) => void onTopic.push(String(m.headers?.[CHANGE_ID_HEADER])));
    t.same(onTopic, [before, after], 'the two small records, in order');
    const { rows } = await db.query<{ error: string }>(
      'test.odl',
      'SELECT error FROM outbox_dead_letters WHERE change_id = $1',
      [big],
    );
    t.match(rows[0]?.error, /larger|too large|MESSAGE_TOO_LARGE/i, "the big one, with Kafka's error");
    t.equal(await outboxRows([before, big, after]), 0, 'nothing left in the outbox');
  },
);
