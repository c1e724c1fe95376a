/** Sink tests: a private topic (and its dead-letter topic) per test, events encoded with the real schema. */
import { randomUUID } from 'node:crypto';
import { AvroCodec, readSchemaFile } from '../../shared/src/avro/registry.js';
import { createKafka, createProducer, ensureTopics, type Kafka } from '../../shared/src/kafka/client.js';
import { dlqSpec, Topics, valueSubject } from '../../shared/src/topics.js';
import { config, logger, randomName } from '../../shared/test/support.js';
import type { EventRecord } from '../src/mapping/event-record.js';
import { eventRecord } from './fixtures.js';

export const kafka: Kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'sink-test', logger });
export const codec = new AvroCodec(config.schemaRegistryUrl);

let eventSchemaId: Promise<number> | undefined;
/** The id of schemas/event.avsc as registered for cdp.events (registering is idempotent). */
export function eventSchema(): Promise<number> {
  eventSchemaId ??= readSchemaFile('event.avsc').then((s) => codec.register(valueSubject(Topics.events), s));
  return eventSchemaId;
}

export async function privateTopic(partitions = 3): Promise<string> {
  const topic = randomName('test.events');
  await ensureTopics(kafka, [{ topic, partitions }, dlqSpec(topic)]);
  return topic;
}

/** A distinct customer and messageIds for one test. */
export function testEvents(
  n: number,
  overrides: (i: number) => Partial<EventRecord> = () => ({}),
): EventRecord[] {
  const user = randomName('user');
  return Array.from({ length: n }, (_, i) =>
    eventRecord({ messageId: randomUUID(), userId: user, ...overrides(i) }),
  );
}

export async function encode(e: EventRecord): Promise<Buffer> {
  return codec.encode(await eventSchema(), e);
}

export async function produce(
  topic: string,
  values: (Buffer | EventRecord)[],
  compression?: number,
): Promise<void> {
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = await Promise.all(
      values.map(async (v) =>
        Buffer.isBuffer(v)
          ? { key: 'k', value: v }
          : { key: v.userId ?? v.anonymousId, value: await encode(v) },
      ),
    );
    await producer.send({ topic, acks: -1, messages, compression });
  } finally {
    await producer.disconnect();
  }
}
