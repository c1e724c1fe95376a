import t from 'tap';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { isRetryable } from '../../shared/src/errors.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createProducer, CompressionTypes, type KafkaMessage } from '../../shared/src/kafka/client.js';
import { registerCodecs } from '../../shared/src/kafka/codecs.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { Registry } from 'prom-client';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { harness, consume, countOf } from '../../shared/test/processor-harness.js';
import { dlqTopic } from '../../shared/src/topics.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { createEventSink } from '../src/sink.js';
import { createSinkMetrics } from '../src/metrics.js';
import { watchDeadLetters, type DeadLetter } from './outcomes.js';
import { freePort } from '../../shared/test/kafka-broker.js';
import { codec, kafka, privateTopic, produce, testEvents, encode } from './support.js';

registerCodecs();
const registry = createRegistry('sink-test');
const db = createDb({ connectionString: config.databaseUrl, service: 'sink-test', registry });
const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
const publisher = new BatchingPublisher(producer, { lingerMs: 0, maxBatchRecords: 1000, timeoutMs: 10_000 });
const publish = (r: OutRecord[]) => publisher.publish(r);
t.before(() => producer.connect());
t.teardown(async () => {
  await producer.disconnect();
  await db.end();
});

const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };

function sinkOn(topic: string, groupId = randomName('group'), sinkCodec = codec) {
  return createEventSink({
    db,
    codec: sinkCodec,
    metrics: createSinkMetrics(new Registry()),
    groupId,
    topic,
    limits,
  });
}

/** The sink's definition on the runtime's applier, for calling handle() directly. */
async function newSink(topic: string, groupId = randomName('group')) {
  return harness(sinkOn(topic, groupId), { db, codec, publish });
}

/** Runs the sink on `topic` as the service does, until stopped. */
async function runSink(
  t: { teardown(fn: () => unknown): void; fail(msg: string): void },
  topic: string,
  groupId = randomName('group'),
) {
  const definition = sinkOn(topic, groupId);
  const h = await harness(definition, { db, codec, publish });
  await consume(t, kafka, definition, h);
  return h;
}

const rowsFor = async (messageIds: string[]) =>
  (
    await db.query<{ message_id: string; part: string; event_type: string; occurred_at: Date }>(
      'test.rows',
      `SELECT message_id, tableoid::regclass::text AS part, event_type, occurred_at FROM customer_events WHERE message_id = ANY($1)`,
      [messageIds],
    )
  ).rows;

/** Events as the records of one partition from offset 0, for calling handle() directly. */
const asMessages = (events: ReturnType<typeof testEvents>): Promise<KafkaMessage[]> =>
  Promise.all(
    events.map(
      async (e, i) =>
        ({
          offset: String(i),
          value: await encode(e),
          key: null,
          timestamp: '0',
          attributes: 0,
          headers: {},
        }) as KafkaMessage,
    ),
  );

/** The first `n` dead letters of `topic`, decoded (outcomes.ts reads them for every sink test). */
async function deadLetters(
  t: { teardown(fn: () => unknown): void },
  topic: string,
  n: number,
): Promise<DeadLetter[]> {
  const watch = await watchDeadLetters(kafka, codec, dlqTopic(topic));
  t.teardown(() => watch.stop());
  await waitFor(`${n} dead letters`, () => watch.letters.length >= n);
  return watch.letters;
}

const waitForRows = (messageIds: string[], n: number) =>
  waitFor(`${n} rows`, async () => {
    const rows = await rowsFor(messageIds);
    return rows.length >= n ? rows : undefined;
  });

t.test('the same messageId twice lands once; replays from offset 0 land once', async (t) => {
  const topic = await privateTopic(1);
  const events = testEvents(5);
  const ids = events.map((e) => e.messageId);
  // A client retry: the same event again, as a different Kafka record.
  await produce(topic, [...events, events[2]!, { ...events[3]!, receivedAt: events[3]!.receivedAt + 5000 }]);
  const groupId = randomName('group');
  await runSink(t, topic, groupId);
  const rows = await waitForRows(ids, 5);
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await rowsFor(ids)).length, 5, 'five distinct events, five rows');
  t.equal(rows.length, 5);

  // Replay the partition from offset 0 through the same group: the stored offset skips everything.
  const messages = await asMessages(events);
  // The partition holds the seven records produced above (the five and two retries).
  const batch = { topic, partition: 0, messages, lag: 0, highWatermark: 7 };
  const sameGroup = await newSink(topic, groupId);
  await sameGroup.applier.handle(batch);
  const { duplicates } = sameGroup.metrics;
  t.equal(await countOf(duplicates, { kind: 'offset' }), 5, 'the stored offset skipped all five records');
  t.equal(await countOf(duplicates, { kind: 'message' }), 0, 'none got as far as message de-duplication');
  // And through a group with no stored offsets (as if the offsets were lost): messageIds drop them.
  const otherGroup = await newSink(topic);
  await otherGroup.applier.handle(batch);
  t.equal(await countOf(otherGroup.metrics.duplicates, { kind: 'offset' }), 0);
  t.equal(
    await countOf(otherGroup.metrics.duplicates, { kind: 'message' }),
    5,
    'messageIds dropped all five',
  );
  t.equal((await rowsFor(ids)).length, 5, 'still five rows after both replays');
});

t.test('events across three months land in three partitions', async (t) => {
  const topic = await privateTopic();
  const months = [Date.UTC(2024, 0, 10), Date.UTC(2024, 1, 10), Date.UTC(2024, 2, 10)];
  const events = testEvents(6, (i) => ({ timestamp: months[i % 3]!, sentAt: null }));
  await produce(topic, events);
  await runSink(t, topic);
  const rows = await waitForRows(
    events.map((e) => e.messageId),
    6,
  );
  t.same([...new Set(rows.map((r) => r.part))].sort(), [
    'customer_events_p202401',
    'customer_events_p202402',
    'customer_events_p202403',
  ]);
});

t.test('poison goes to the dead-letter topic with its bytes and reason; its neighbours land', async (t) => {
  const topic = await privateTopic(1);
  const [before, after] = testEvents(2);
  const future = testEvents(1, () => ({ timestamp: Date.now() + 40 * 24 * 3600_000 }))[0]!;
  const garbage = Buffer.from('definitely not avro');
  await produce(topic, [before!, garbage, future, after!]);
  await runSink(t, topic);
  await waitForRows([before!.messageId, after!.messageId], 2);
  t.equal((await rowsFor([future.messageId])).length, 0, 'the future-dated event is not in the table');

  const letters = await deadLetters(t, topic, 2);
  const byReason = Object.fromEntries(letters.map((l) => [l.reason as string, l]));
  t.match(byReason.undecodable, { originalTopic: topic, partition: 0, offset: 1, service: 'sink-test' });
  t.same(byReason.undecodable!.payload, garbage, 'the original bytes');
  t.match(byReason['future-timestamp'], { offset: 2 });
});

t.test(
  'a record as large as the input topic takes is dead-lettered whole, not a reason to stop',
  async (t) => {
    const topic = await privateTopic(1);
    const [after] = testEvents(1);
    // Just under the broker's default message.max.bytes (1 MiB) as a batch of its own: its
    // envelope (the payload plus where it was and why) is larger than that.
    const huge = Buffer.alloc(1_048_400, 0x61);
    await produce(topic, [huge]);
    await produce(topic, [after!]);
    await runSink(t, topic);
    await waitForRows([after!.messageId], 1);
    const [letter] = await deadLetters(t, topic, 1);
    t.match(letter, { reason: 'undecodable', offset: 0 });
    t.same(letter!.payload, huge, 'the original bytes, whole');
  },
);

t.test(
  'rows PostgreSQL refuses are found, dead-lettered with its message, and the rest of the batch commits once',
  async (t) => {
    const topic = await privateTopic(1);
    const groupId = randomName('group');
    // Past numeric's range: JSON.parse reads Infinity, so nothing before the write notices, and
    // jsonb refuses the text (22003). The backstop, not the mapping, has to find these.
    const bad = new Set([7, 23, 41]);
    const events = testEvents(50, (i) => ({
      propertiesJson: bad.has(i) ? '{"n":1e1000000}' : `{"i":${i}}`,
    }));
    // The halting input of the issue, straight to Kafka: the shared rule stores it, U+0000 -> U+FFFD.
    events[12] = { ...events[12]!, userId: `nul\u0000${randomName('user')}` };
    await produce(topic, events);
    await runSink(t, topic, groupId);
    const good = events.filter((_, i) => !bad.has(i)).map((e) => e.messageId);
    await waitForRows(good, good.length);

    const letters = await deadLetters(t, topic, 3);
    t.same(
      letters.map((l) => l.offset),
      [7, 23, 41],
      'exactly the refused records, in order',
    );
    for (const l of letters) {
      t.equal(l.reason, 'refused-by-database');
      t.match((l.errors as string[])[0], /^22003: value overflows numeric format/);
    }
    t.equal((await rowsFor(events.map((e) => e.messageId))).length, 47, 'every other record once');
    const stored = await db.query<{ next_offset: number }>(
      'test.offset',
      'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
      [groupId, topic],
    );
    t.equal(Number(stored.rows[0]!.next_offset), 50, 'the offset is past the whole batch');
    const nul = await db.query<{ customer_id: string }>(
      'test.nul',
      `SELECT c.customer_id FROM customer_events e JOIN customers c ON c.id = e.customer_id WHERE e.message_id = $1`,
      [events[12]!.messageId],
    );
    t.equal(nul.rows[0]?.customer_id, events[12]!.userId!.replace('\u0000', '\uFFFD'));
  },
);

t.test('a registry outage is retried, never a reason to dead-letter a valid record', async (t) => {
  const topic = await privateTopic(1);
  const events = testEvents(3);
  const messages = await asMessages(events);
  const batch = { topic, partition: 0, messages, lag: 0, highWatermark: messages.length };
  // A registry nobody answers for: a port that was just free, so the connection is refused.
  const port = await freePort();
  const published: unknown[] = [];
  const groupId = randomName('group');
  const blind = await harness(
    sinkOn(topic, groupId, new AvroCodec(`http://127.0.0.1:${port}/apis/ccompat/v7`)),
    { db, codec, publish: async (r) => void published.push(...r) },
  );
  const failure = await blind.applier.handle(batch).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(isRetryable(failure), 'retryable: the consumer retries the batch');
  t.equal(published.length, 0, 'nothing dead-lettered');
  const ids = events.map((e) => e.messageId);
  t.equal((await rowsFor(ids)).length, 0);
  // The registry is back: the same batch lands whole.
  await (await newSink(topic, groupId)).applier.handle(batch);
  t.equal((await rowsFor(ids)).length, 3);
});

t.test('records produced directly with snappy, lz4 and zstd land like HTTP events', async (t) => {
  const topic = await privateTopic(1);
  const all: string[] = [];
  for (const compression of [
    CompressionTypes.Snappy,
    CompressionTypes.LZ4,
    CompressionTypes.ZSTD,
    CompressionTypes.GZIP,
  ]) {
    const events = testEvents(3, () => ({ sourceId: null }));
    all.push(...events.map((e) => e.messageId));
    await produce(topic, events, compression);
  }
  await runSink(t, topic);
  const rows = await waitForRows(all, 12);
  t.equal(rows.length, 12);
});

t.test(
  'a stored offset past the end of the partition (the topic was recreated) rewinds instead of skipping',
  async (t) => {
    const topic = await privateTopic(1);
    const groupId = randomName('group');
    // As if an earlier incarnation of the topic had been consumed up to offset 5000.
    await db.query(
      'test.stale-offset',
      'INSERT INTO consumer_offsets (consumer_group, topic, kafka_partition, next_offset) VALUES ($1, $2, 0, 5000)',
      [groupId, topic],
    );
    const events = testEvents(4);
    await produce(topic, events);
    await runSink(t, topic, groupId);
    const rows = await waitForRows(
      events.map((e) => e.messageId),
      4,
    );
    t.equal(rows.length, 4);
    const stored = await db.query<{ next_offset: number }>(
      'test.offset',
      'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
      [groupId, topic],
    );
    t.equal(Number(stored.rows[0]!.next_offset), 4);
  },
);
