/**
 * Avro through the real registry and the real broker: register, produce, consume, decode; a
 * record that is not Confluent-framed is poison; every compression codec round-trips a batch.
 */
import t, { type Test } from 'tap';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { AvroCodec, readSchemaFile } from '../src/avro/registry.js';
import {
  CompressionCodecs,
  CompressionTypes,
  createProducer,
  ensureTopics,
  type Kafka,
  type Producer,
} from '../src/kafka/client.js';
import { registerCodecs } from '../src/kafka/codecs.js';
import { PoisonError } from '../src/errors.js';
import { config, randomName } from './support.js';
import { beginning, readRange, testKafka } from './kafka-support.js';

const kafka: Kafka = testKafka();
const codec = new AvroCodec(config.schemaRegistryUrl);
const subject = `${randomName('zz-test.avro')}-value`;
const topics: string[] = [];
let producer: Producer;

t.before(async () => {
  producer = createProducer(kafka, { idempotent: true });
  await producer.connect();
});

t.teardown(async () => {
  await producer?.disconnect();
  if (topics.length > 0) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
  // The registry keeps subjects forever otherwise (soft delete, then permanent).
  const url = `${config.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}`;
  await fetch(url, { method: 'DELETE' }).catch(() => undefined);
  await fetch(`${url}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
});

async function privateTopic(t: Test): Promise<string> {
  const topic = randomName('test.avro');
  topics.push(topic);
  t.same(await ensureTopics(kafka, [{ topic, partitions: 1 }]), [topic], `created ${topic}`);
  return topic;
}

const eventValue = (i: number) => ({
  messageId: randomName(`m${i}`),
  sourceId: 'src-1',
  type: i % 2 === 0 ? 'TRACK' : 'PAGE',
  event: i % 2 === 0 ? 'Product Viewed' : null,
  name: i % 2 === 0 ? null : 'Home',
  category: null,
  userId: randomName('u'),
  anonymousId: null,
  timestamp: 1_795_000_000_000 + i,
  sentAt: null,
  receivedAt: 1_795_000_000_500 + i,
  propertiesJson: JSON.stringify({ sku: `SKU-${i}`, price: 12.5, note: 'x'.repeat(200) }),
  context: {
    ip: '203.0.113.9',
    userAgent: 'Mozilla/5.0',
    locale: 'en-US',
    timezone: null,
    sessionId: 's-1',
    page: { path: '/p', referrer: null, search: null, title: 'P', url: 'https://shop.example/p' },
    campaign: { name: 'spring', source: 'news', medium: 'email', term: null, content: null },
    device: null,
    os: { name: 'Linux', version: null },
    screen: { width: 1920, height: 1080, density: 1.5 },
    location: { country: 'DE', region: null, city: 'Berlin', latitude: 52.5, longitude: 13.4 },
    library: { name: 'test', version: '1' },
    extraJson: null,
  },
});

t.test(
  'a record encoded with a registered schema comes back equal through broker and registry',
  async (t) => {
    const id = await codec.register(subject, await readSchemaFile('event.avsc'));
    t.ok(Number.isInteger(id) && id > 0, `schema id ${id}`);
    t.equal(
      await codec.register(subject, await readSchemaFile('event.avsc')),
      id,
      'registering again is idempotent',
    );
    t.equal(await codec.latestId(subject), id);

    const topic = await privateTopic(t);
    const value = eventValue(0);
    const bytes = await codec.encode(id, value);
    t.equal(bytes[0], 0, 'magic byte');
    t.equal(bytes.readUInt32BE(1), id, 'schema id in the frame');
    await producer.send({ topic, acks: -1, messages: [{ key: value.userId, value: bytes }] });

    const records = await readRange(kafka, await beginning(kafka, [topic]));
    t.equal(records.length, 1);
    t.equal(records[0]!.key, value.userId);
    t.same(await codec.decode(records[0]!.value!), value);
  },
);

t.test(
  'a record that is not Confluent-framed, or names an unknown schema id, is poison (undecodable)',
  async (t) => {
    const topic = await privateTopic(t);
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('body')]);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'k', value: Buffer.from(JSON.stringify({ messageId: 'm', type: 'TRACK' })) },
        { key: 'k', value: unknownId },
      ],
    });
    const records = await readRange(kafka, await beginning(kafka, [topic]));
    t.equal(records.length, 2);
    for (const [i, r] of records.entries()) {
      const err = await codec.decode(r.value!).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.type(err, PoisonError, `record ${i} is a PoisonError`);
      t.equal((err as PoisonError).reason, 'undecodable');
      t.equal((err as PoisonError).retriable, false);
    }
  },
);

t.test('every compression codec round-trips a batch through the broker', async (t) => {
  registerCodecs();
  const id = await codec.register(subject, await readSchemaFile('event.avsc'));
  const codecs = [
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const;
  for (const [name, type] of codecs) {
    // Count the codec's own calls, so the test proves the batch was really compressed by it on
    // the way in and decompressed by it on the way out.
    const calls = { compress: 0, decompress: 0 };
    const original = CompressionCodecs[type];
    t.ok(original, `${name} is registered`);
    CompressionCodecs[type] = () => {
      const c = original!();
      return {
        compress: (encoder: unknown) => (calls.compress++, c.compress(encoder as never)),
        decompress: (buffer: Buffer) => (calls.decompress++, c.decompress(buffer)),
      };
    };
    try {
      const topic = await privateTopic(t);
      const values = Array.from({ length: 50 }, (_, i) => eventValue(i));
      const encoded = await Promise.all(values.map((v) => codec.encode(id, v)));
      await producer.send({
        topic,
        acks: -1,
        compression: type,
        messages: encoded.map((value, i) => ({ key: values[i]!.userId, value })),
      });
      const records = await readRange(kafka, await beginning(kafka, [topic]));
      t.equal(records.length, values.length, `${name}: every record came back`);
      t.same(
        await Promise.all(records.map((r) => codec.decode(r.value!))),
        values,
        `${name}: values equal, in order`,
      );
      t.ok(calls.compress >= 1, `${name}: the producer compressed with it (${calls.compress})`);
      t.ok(calls.decompress >= 1, `${name}: the consumer decompressed with it (${calls.decompress})`);
    } finally {
      CompressionCodecs[type] = original!;
    }
  }
});

t.test(
  'the synchronous encoder frames like the registry client and refuses values that do not fit',
  async (t) => {
    const codec = new AvroCodec(config.schemaRegistryUrl);
    const subject = randomName('test-encoder-value');
    const schema = await readSchemaFile('campaign-event.avsc');
    const id = await codec.register(subject, schema);
    t.teardown(() =>
      fetch(`${config.schemaRegistryUrl}/subjects/${subject}`, { method: 'DELETE' }).then(() => {}),
    );
    const encode = await codec.encoderFor(id);
    const value = {
      messageId: 'm',
      sourceId: null,
      userId: 'u',
      anonymousId: null,
      campaign_id: '7d0c8a3e-1b2c-4d5e-8f90-123456789abc',
      event: 'opened',
      variant: null,
      url: null,
      value: null,
      reason: null,
      timestamp: 1,
      sentAt: null,
      receivedAt: 2,
    };
    const bytes = encode(value);
    const reference = new SchemaRegistry({ host: config.schemaRegistryUrl });
    t.same(bytes, await reference.encode(id, value), 'same bytes as the Confluent registry client library');
    t.same(await codec.decode(bytes), value);
    const err = t.throws(() => encode({ ...value, event: 'exploded' })) as PoisonError;
    t.type(err, PoisonError);
    t.equal(err.reason, 'schema-invalid');
    t.match(err.message, /event/);
  },
);
