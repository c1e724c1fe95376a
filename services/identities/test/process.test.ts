/**
 * The process as `make up` runs it: main.ts on private topics (TOPIC_PREFIX) and its own group;
 * identify and group records produced with the registered schema end in PostgreSQL, the change is
 * relayed to <prefix>cdp.customer-changes, /metrics counts, and SIGTERM exits cleanly.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec, Topics, valueSubject } from '../../shared/src/topics.js';
import { freePort } from '../../shared/test/kafka-broker.js';
import { beginning, readRange, testKafka } from '../../shared/test/kafka-support.js';
import { startProcessor } from '../../shared/test/processor-process.js';
import { randomName, waitFor } from '../../shared/test/support.js';
import { customerOf, setup } from './support.js';
import { identityRecord } from './fixtures.js';
import type { CustomerChange } from '../../shared/src/customers/change.js';

const s = await setup(t);

t.test('main.ts applies cdp.identities and publishes the change', { timeout: 120_000 }, async (t) => {
  const prefix = `${randomName('test-identities')}.`;
  const input = prefix + Topics.identities;
  const changes = prefix + Topics.customerChanges;
  const kafka = testKafka();
  await ensureTopics(kafka, [
    { topic: input, partitions: 2 },
    dlqSpec(input),
    { topic: changes, partitions: 1 },
  ]);

  const [user, anon, group] = [randomName('user'), randomName('anon'), randomName('group')];
  const schemaId = await s.codec.register(
    valueSubject(Topics.identities),
    await readSchemaFile('identity.avsc'),
  );
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const now = Date.now();
  await producer.send({
    topic: input,
    acks: -1,
    messages: await Promise.all(
      [
        identityRecord({
          userId: user,
          anonymousId: anon,
          messageId: randomUUID(),
          traits: { email: 'p@x' },
        }),
        identityRecord({
          type: 'GROUP',
          userId: user,
          groupId: group,
          messageId: randomUUID(),
          timestamp: now,
        }),
      ].map(async (r) => ({ key: user, value: await s.codec.encode(schemaId, r) })),
    ),
  });

  const port = await freePort();
  const proc = startProcessor('services/identities/src/main.ts', {
    TOPIC_PREFIX: prefix,
    IDENTITIES_GROUP: randomName('identities-group'),
    IDENTITIES_PORT: String(port),
  });
  t.teardown(() => proc.stop(2_000));

  const c = await waitFor(
    'the customer',
    async () => (await customerOf(s.db, anon))?.email === 'p@x' && customerOf(s.db, anon),
    60_000,
  );
  t.equal(c && c.customer_id, user);
  await waitFor('the membership', async () => {
    const { rowCount } = await s.db.query(
      'identities-test.member',
      'SELECT 1 FROM customer_group_memberships WHERE group_id = $1',
      [group],
    );
    return rowCount === 1;
  });

  const relayed = await waitFor(
    'the change on cdp.customer-changes',
    async () => {
      const records = await readRange(kafka, await beginning(kafka, [changes]), 10_000);
      return records.length > 0 && records;
    },
    30_000,
  );
  t.equal(relayed.length, 1, 'one change for the one customer');
  const change = await s.codec.decode<CustomerChange>(relayed[0]!.value!);
  t.match(change, { kind: 'CREATED', customerId: c && c.id, externalId: user, producer: 'identities' });
  t.equal(relayed[0]!.key, c && c.id, 'keyed by customers.id');
  t.equal(relayed[0]!.headers['cdp-change-id'], change.changeId);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /identities_records_applied_total\{[^}]*type="identify"[^}]*\} 1/);
  t.match(metrics, /identities_records_applied_total\{[^}]*type="group"[^}]*\} 1/);

  await proc.stop();
  t.match(proc.exited(), { code: 0 }, `a clean exit on SIGTERM\n${proc.lastLines()}`);
});
