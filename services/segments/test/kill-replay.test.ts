/**
 * The segments process (main.ts) on a private PostgreSQL and private topics: it evaluates its
 * segments at start, follows customer changes, is killed -9 with a batch transaction open, then
 * killed between relaying transitions and deleting them from the outbox; after a restart every
 * transition is on cdp.segment-changes exactly once per changeId, alternating per membership and
 * ending in its state, and memberships equal their criteria; a replay from offset 0 changes nothing.
 */
import t from 'tap';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { membershipDifferences } from '../../shared/src/segments/check.js';
import { dlqTopic, topicSpecs, Topics } from '../../shared/src/topics.js';
import { beginning, readRange, testKafka } from '../../shared/test/kafka-support.js';
import { startProcessor } from '../../shared/test/processor-process.js';
import { randomName, waitFor } from '../../shared/test/support.js';
import { activeMembers, changeEncoder, codec, makeSegment, usePrivatePostgres } from './support.js';

const CUSTOMERS = 60;
const HOSTILE = 3;

const pg = usePrivatePostgres(t);

t.test('kill -9 mid-stream and around the relay, restart, replay from 0', { timeout: 240_000 }, async (t) => {
  const db = pg.db;
  const prefix = `${randomName('test-segk')}.`;
  const input = prefix + Topics.customerChanges;
  const output = prefix + Topics.segmentChanges;
  const kafka = testKafka();
  // The topics as the bootstrap makes them (topicSpecs): cdp.customer-changes has its .dlq.
  await ensureTopics(kafka, [
    ...topicSpecs
      .filter((s) => s.topic.startsWith(Topics.customerChanges))
      .map((s) => ({
        ...s,
        topic: prefix + s.topic,
        partitions: s.schemaFile === 'dead-letter.avsc' ? 1 : 2,
      })),
    { topic: output, partitions: 2 },
  ]);

  await db.query(
    'test.customers',
    `INSERT INTO customers (customer_id, first_seen_at, country, total_revenue)
     SELECT 'k' || i, now(), CASE WHEN i % 2 = 0 THEN 'US' ELSE 'DE' END, i * 10
     FROM generate_series(0, $1 - 1) AS i`,
    [CUSTOMERS],
  );
  const segments = [
    await makeSegment(db, {
      name: 'big',
      criteria: { conditions: [{ field: 'total_revenue', operator: '>=', value: 300 }] },
    }),
    await makeSegment(db, {
      name: 'big in the US',
      criteria: {
        conditions: [
          { field: 'total_revenue', operator: '>=', value: 300 },
          { field: 'country', operator: '=', value: 'US' },
        ],
      },
    }),
    await makeSegment(db, { name: 'DE', criteria: { country: 'DE' } }),
  ];

  const group = randomName('segments-group');
  const run = (env: Record<string, string> = {}) =>
    startProcessor(
      'services/segments/src/main.ts',
      {
        DATABASE_URL: pg.url,
        TOPIC_PREFIX: prefix,
        SEGMENTS_GROUP: group,
        SEGMENTS_PORT: '0',
        SEGMENTS_MAX_BATCH: '10',
        SEGMENTS_POLL_MS: '500',
        ...env,
      },
      ['DATABASE_URL'],
    );
  const offsets = async () =>
    (
      await db.query<{ n: number }>(
        'test.offsets',
        'SELECT coalesce(sum(next_offset), 0)::int AS n FROM consumer_offsets WHERE consumer_group = $1',
        [group],
      )
    ).rows[0]!.n;
  const outboxEmpty = async () =>
    (await db.query('test.outbox', 'SELECT 1 FROM outbox WHERE topic = $1 LIMIT 1', [output])).rows.length ===
    0;
  const snapshot = async () => JSON.stringify(await activeMembers(db, segments));

  const first = run({ FAULT_PAUSE_BEFORE_COMMIT_MS: '300' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  await waitFor(
    'segments evaluated at start',
    async () =>
      (await db.query('test.evaluated', 'SELECT 1 FROM segment_definitions WHERE evaluated_at IS NOT NULL'))
        .rows.length === 3,
    60_000,
  );
  const initial = await snapshot();

  // Every customer changes (half the revenues cross 300 either way, everyone moves country), then
  // their change records go out.
  await db.query(
    'test.change',
    `UPDATE customers SET total_revenue = 600 - total_revenue,
       country = CASE country WHEN 'US' THEN 'DE' ELSE 'US' END`,
  );
  const encode = await changeEncoder(prefix);
  const { rows: ids } = await db.query<{ id: string }>(
    'test.ids',
    'SELECT id FROM customers ORDER BY customer_id',
  );
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: input,
    acks: -1,
    messages: [
      // What a backend may produce straight to the topic: dead-lettered, the partition goes on.
      { key: 'hostile-1', value: Buffer.from('{"customerId": "not avro"}') },
      { key: 'hostile-2', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0, 1]) },
      { key: 'hostile-3', value: encode("'; DELETE FROM customers; --") },
      ...ids.map(({ id }) => ({ key: id, value: encode(id) })),
    ],
  });
  await producer.disconnect();

  await waitFor('some batches committed', async () => (await offsets()) >= 10, 60_000, 50);
  first.child.kill('SIGKILL');
  t.match(await first.exit, { signal: 'SIGKILL' });
  t.ok((await offsets()) < CUSTOMERS, 'killed mid-stream');

  const second = run({ FAULT_KILL_AROUND_RELAY: '2' });
  t.teardown(() => void second.child.kill('SIGKILL'));
  t.match(await second.exit, { signal: 'SIGKILL' }, 'died between a relay and its delete');

  const third = run();
  t.teardown(() => void third.child.kill('SIGKILL'));
  await waitFor('every record applied', async () => (await offsets()) >= CUSTOMERS + HOSTILE, 90_000, 200);
  await waitFor('every transition relayed', outboxEmpty, 60_000, 200);
  await third.stop();
  t.equal(third.exited()?.code, 0, third.lastLines());

  t.same(await membershipDifferences(db, new Date()), [], 'memberships equal their criteria');
  const dead = await readRange(kafka, await beginning(kafka, [dlqTopic(input)]));
  const reasons = new Set(
    await Promise.all(dead.map(async (d) => ((await codec.decode(d.value!)) as { reason: string }).reason)),
  );
  t.ok(dead.length >= HOSTILE, `the ${HOSTILE} hostile records are on ${dlqTopic(input)}`);
  t.same([...reasons].sort(), ['schema-invalid', 'undecodable']);
  t.not(await snapshot(), initial, 'and they moved');
  const wire = await readRange(kafka, await beginning(kafka, [output]));
  const violations = await feedViolations(wire, new Set(JSON.parse(await snapshot()) as string[]));
  t.same(violations.errors, [], 'once per changeId, alternating, ending in the membership state');
  t.ok(
    violations.duplicates > 0,
    `the relay kill re-sent ${violations.duplicates} records, de-duplicated by changeId`,
  );

  const after = await snapshot();
  const published = wire.length;
  await db.query('test.rewind', 'UPDATE consumer_offsets SET next_offset = 0 WHERE consumer_group = $1', [
    group,
  ]);
  const fourth = run();
  t.teardown(() => void fourth.child.kill('SIGKILL'));
  await waitFor('the replay applied', async () => (await offsets()) >= CUSTOMERS + HOSTILE, 90_000, 200);
  await new Promise((r) => setTimeout(r, 1_000));
  await fourth.stop();
  t.equal(await snapshot(), after, 'the replay changed no membership');
  t.equal(
    (await readRange(kafka, await beginning(kafka, [output]))).length,
    published,
    'and published nothing',
  );
});

async function feedViolations(
  wire: readonly { value: Buffer | null }[],
  active: ReadonlySet<string>,
): Promise<{ errors: string[]; duplicates: number }> {
  const records = await Promise.all(
    wire.map(
      async (w) =>
        (await codec.decode(w.value!)) as {
          changeId: string;
          segmentId: string;
          customerId: string;
          change: string;
          at: number;
        },
    ),
  );
  const byChange = new Map<string, (typeof records)[number]>();
  let duplicates = 0;
  for (const r of records) {
    if (byChange.has(r.changeId)) duplicates++;
    else byChange.set(r.changeId, r);
  }
  const byMembership = new Map<string, (typeof records)[number][]>();
  for (const r of byChange.values()) {
    const key = `${r.segmentId}|${r.customerId}`;
    byMembership.set(key, [...(byMembership.get(key) ?? []), r]);
  }
  const errors: string[] = [];
  for (const [key, list] of byMembership) {
    // Ordered by when the membership changed: records of one membership can come from two
    // publishers (the batch, the background), so the wire order is not the order of change.
    list.sort((a, b) => a.at - b.at);
    list.forEach((r, i) => {
      if (r.change !== (i % 2 === 0 ? 'ENTERED' : 'EXITED')) errors.push(`${key}: #${i} is ${r.change}`);
    });
    const last = list[list.length - 1]!.change;
    if ((last === 'ENTERED') !== active.has(key))
      errors.push(`${key}: last ${last}, active ${active.has(key)}`);
  }
  for (const key of active) if (!byMembership.has(key)) errors.push(`${key}: active without an ENTERED`);
  return { errors, duplicates };
}
