/**
 * Two sink instances at once, as a rebalance leaves them for a moment: on one partition (the zombie
 * is fenced by the offset lock), and creating the same new month's partition.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { createDb } from '../../shared/src/pg/gateway.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { harness, batchOf, countOf } from '../../shared/test/processor-harness.js';
import { createEventSink } from '../src/sink.js';
import { createSinkMetrics } from '../src/metrics.js';
import { PartitionCache } from '../src/partitions.js';
import { REPLAY_FOR_HEADER } from '../../shared/src/pipeline/dead-letter.js';
import { codec, encode, privateTopic, testEvents } from './support.js';

const dbA = createDb({ connectionString: config.databaseUrl, service: 'sink-a', registry: new Registry() });
const dbB = createDb({ connectionString: config.databaseUrl, service: 'sink-b', registry: new Registry() });
t.teardown(async () => {
  await dbA.end();
  await dbB.end();
});
const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };
const noDeadLetters = async () => {
  throw new Error('no record here is poison');
};

const sinkOn = (db: typeof dbA, topic: string, groupId: string, pauseMs = 0) =>
  harness(
    createEventSink({ db, codec, metrics: createSinkMetrics(new Registry()), groupId, topic, limits }),
    {
      db,
      codec,
      publish: noDeadLetters,
      faultPauseBeforeCommitMs: pauseMs,
    },
  );

t.test('two instances handle the same batch at once: the second is fenced by the offset lock', async (t) => {
  const topic = await privateTopic(1);
  const groupId = randomName('group');
  const events = testEvents(200);
  const batch = batchOf(topic, await Promise.all(events.map(encode)));
  // A holds its transaction open before COMMIT; B reads the stored offset meanwhile (still 0), so
  // only the lock in its own transaction can stop it writing the batch again.
  const a = await sinkOn(dbA, topic, groupId, 800);
  const b = await sinkOn(dbB, topic, groupId);
  const first = a.applier.handle(batch);
  await waitFor(
    "A's transaction open before its COMMIT",
    async () =>
      (
        await dbB.query<{ n: number }>(
          'test.open-tx',
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE application_name = 'sink-a' AND state = 'idle in transaction' AND query LIKE '%offsets.store%'`,
        )
      ).rows[0]!.n > 0,
    10_000,
    10,
  );
  const second = b.applier.handle(batch);
  await Promise.all([first, second]);

  const { rows } = await dbA.query<{ n: number; d: number }>(
    'test.count',
    'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM customer_events WHERE message_id = ANY($1)',
    [events.map((e) => e.messageId)],
  );
  t.same(rows[0], { n: 200, d: 200 }, 'every event once');
  t.equal(await countOf(a.metrics.applied), 200, 'A applied the batch');
  t.equal(await countOf(b.metrics.applied), 0, 'B applied nothing');
  t.equal(await countOf(b.metrics.duplicates, { kind: 'offset' }), 0, "B's pre-read saw nothing applied yet");
  t.equal(
    await countOf(b.metrics.duplicates, { kind: 'fenced' }),
    200,
    'B found all of it applied, under the lock',
  );
  t.equal(
    await countOf(b.metrics.duplicates, { kind: 'message' }),
    0,
    'the offset, not message dedup, stopped it',
  );
});

t.test('two instances create the same new month partition at once', async (t) => {
  // A month far from any real data, dropped again afterwards.
  const year = 2090 + Math.floor(Math.random() * 9);
  const month = 1 + Math.floor(Math.random() * 12);
  const at = new Date(Date.UTC(year, month - 1, 15));
  const name = `customer_events_p${year}${String(month).padStart(2, '0')}`;
  await dbA.query('test.drop-part', `DROP TABLE IF EXISTS ${name}`);
  t.teardown(() => dbA.query('test.drop-part', `DROP TABLE IF EXISTS ${name}`));

  const results = await Promise.allSettled([
    new PartitionCache(dbA).ensure([at]),
    new PartitionCache(dbB).ensure([at]),
    new PartitionCache(dbA).ensure([at]),
    new PartitionCache(dbB).ensure([at]),
  ]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    'no instance failed',
  );
  const { rows } = await dbA.query<{ n: number }>(
    'test.parts',
    `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'customer_events'::regclass AND c.relname = $1`,
    [name],
  );
  t.equal(rows[0]!.n, 1, 'one partition, attached');
});

t.test(
  'a replayed record addressed to another processor is skipped; one for this processor lands',
  async (t) => {
    const topic = await privateTopic(1);
    const [mine, theirs] = testEvents(2);
    const batch = batchOf(topic, [await encode(mine!), await encode(theirs!)]);
    batch.messages[0]!.headers = { [REPLAY_FOR_HEADER]: Buffer.from('event-sink') };
    batch.messages[1]!.headers = { [REPLAY_FOR_HEADER]: Buffer.from('orders') };
    const sink = await sinkOn(dbA, topic, randomName('group'));
    await sink.applier.handle(batch);
    const { rows } = await dbA.query<{ message_id: string }>(
      'test.replayed',
      'SELECT message_id FROM customer_events WHERE message_id = ANY($1)',
      [[mine!.messageId, theirs!.messageId]],
    );
    t.same(
      rows.map((r) => r.message_id),
      [mine!.messageId],
      "only the sink's own dead letter is applied again",
    );
    t.equal(await countOf(sink.metrics.dropped, { reason: 'replayed-for-another-processor' }), 1);
  },
);
