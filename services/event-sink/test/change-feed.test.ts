/**
 * The metrics writer's change feed, as a process: kill -9 the sink between its COMMIT and the
 * relay (and, second, between the relay's produce and its delete); after a restart
 * cdp.customer-changes carries each change once per change id, and folding the feed per customer
 * gives the metrics the table holds (no change lost, none counted twice).
 */
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { ensureTopics } from '../../shared/src/kafka/client.js';
import { readToEnd } from '../../shared/src/kafka/read-to-end.js';
import { CHANGE_ID_HEADER } from '../../shared/src/pipeline/outbox.js';
import { Topics } from '../../shared/src/topics.js';
import type { CustomerChange } from '../../shared/src/customers/change.js';
import { metricDifferences } from '../../shared/src/customers/metrics/check.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { startSink } from '../../shared/test/processor-process.js';
import { eventRecord } from './fixtures.js';
import { codec, kafka, privateTopic, produce } from './support.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'change-feed-test',
  registry: createRegistry('cf'),
});
t.teardown(() => db.end());

const CUSTOMERS = 12;
const EVENTS_EACH = 15;

async function scenario() {
  const prefix = `${randomName('cf')}.`;
  const changesTopic = prefix + Topics.customerChanges;
  await ensureTopics(kafka, [{ topic: changesTopic, partitions: 2 }]);
  const topic = await privateTopic(1);
  const ns = randomName('cfu');
  const users = Array.from({ length: CUSTOMERS }, (_, i) => `${ns}-${i}`);
  const now = Date.now();
  const events = users.flatMap((userId, i) =>
    Array.from({ length: EVENTS_EACH }, (_, k) =>
      eventRecord(
        {
          messageId: randomUUID(),
          userId,
          type: k % 3 === 0 ? 'TRACK' : 'PAGE',
          event: k % 3 === 0 ? 'Product Viewed' : null,
          name: k % 3 === 0 ? null : 'Home',
          timestamp: now - (i * EVENTS_EACH + k) * 60_000,
        },
        { sessionId: `s-${k % 4}` },
      ),
    ),
  );
  // Interleaved, so that every batch touches several customers.
  await produce(
    topic,
    events.sort(() => Math.random() - 0.5),
  );
  const env = {
    TOPIC_PREFIX: prefix,
    EVENT_SINK_TOPIC: topic,
    EVENT_SINK_GROUP: randomName('cf-group'),
    EVENT_SINK_MAX_BATCH: '40',
  };
  return { prefix, changesTopic, topic, users, env };
}

async function customerIds(users: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; customer_id: string }>(
    'test.cf-ids',
    'SELECT id, customer_id FROM customers WHERE customer_id = ANY($1::text[])',
    [users],
  );
  return new Map(rows.map((r) => [r.id, r.customer_id]));
}

const eventsIn = async (users: string[]) =>
  (
    await db.query<{ n: number }>(
      'test.cf-events',
      'SELECT count(*)::int AS n FROM customer_events e JOIN customers c ON c.id = e.customer_id WHERE c.customer_id = ANY($1::text[])',
      [users],
    )
  ).rows[0]!.n;

const pendingFor = async (topic: string) =>
  (
    await db.query<{ n: number }>(
      'test.cf-pending',
      'SELECT count(*)::int AS n FROM outbox WHERE topic = $1',
      [topic],
    )
  ).rows[0]!.n;

interface Wire {
  id: string;
  change: CustomerChange;
}

async function feed(topic: string): Promise<Wire[]> {
  const out: Wire[] = [];
  const raw: { id: string; value: Buffer }[] = [];
  await readToEnd(
    kafka,
    topic,
    (_p, m) => void raw.push({ id: String(m.headers?.[CHANGE_ID_HEADER]), value: m.value! }),
  );
  for (const r of raw) out.push({ id: r.id, change: await codec.decode<CustomerChange>(r.value) });
  return out;
}

/**
 * The feed as a consumer keeps it (one record per change id, in order per customer) folded into
 * each customer's latest page-view count, with every change's old value checked against the
 * value before it: a lost change or a change counted twice breaks the chain.
 */
function fold(wire: Wire[]) {
  const seen = new Set<string>();
  const pageViews = new Map<string, number>();
  const broken: string[] = [];
  for (const { id, change } of wire) {
    if (seen.has(id)) continue;
    seen.add(id);
    t.equal(change.changeId, id, "the header carries the value's change id");
    const c = change.changes.find((x) => x.column === 'total_page_views');
    if (!c) continue;
    const before = pageViews.get(change.customerId) ?? 0;
    if (Number(c.oldJson ?? 0) !== before) broken.push(`${change.customerId}: ${c.oldJson} after ${before}`);
    pageViews.set(change.customerId, Number(c.newJson));
  }
  return { distinct: seen.size, pageViews, broken };
}

async function check(t: Test, s: Awaited<ReturnType<typeof scenario>>) {
  await waitFor('the outbox drained', async () => (await pendingFor(s.changesTopic)) === 0, 30_000, 250);
  const ids = await customerIds(s.users);
  const wire = await feed(s.changesTopic);
  const folded = fold(wire);
  t.same(folded.broken, [], 'each change follows the one before it: none lost, none twice');
  const { rows } = await db.query<{ id: string; total_page_views: number }>(
    'test.cf-stored',
    'SELECT id, total_page_views FROM customers WHERE id = ANY($1::uuid[])',
    [[...ids.keys()]],
  );
  t.same(
    Object.fromEntries([...folded.pageViews].sort()),
    Object.fromEntries(rows.map((r) => [r.id, r.total_page_views]).sort()),
    'the feed ends at the stored page views of every customer',
  );
  t.same(
    await metricDifferences(db, [...ids.keys()], Date.now()),
    [],
    'and the stored metrics equal the recompute',
  );
  return { wire, folded };
}

/** The sink started again on the scenario: every event stored, the feed checked. */
async function restartAndCheck(t: Test, s: Awaited<ReturnType<typeof scenario>>) {
  const second = startSink(s.env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  await waitFor(
    'every event stored',
    async () => (await eventsIn(s.users)) === CUSTOMERS * EVENTS_EACH,
    60_000,
    250,
  );
  return { second, ...(await check(t, s)) };
}

t.test('kill -9 after the COMMIT, before the relay: every change published once', async (t) => {
  const s = await scenario();
  const first = startSink({ ...s.env, FAULT_KILL_AROUND_RELAY: '1' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.match(await first.exit, { signal: 'SIGKILL' }, 'it died right after its first commit');
  // Its committed changes wait in the outbox for a relay of `event-sink`: the restarted process's,
  // or a running stack's sink, which relays that producer's rows too (so no assertion on the wait).

  const { second, wire, folded } = await restartAndCheck(t, s);
  t.equal(wire.length, folded.distinct, 'no record twice on the wire');
  await second.stop();
  t.equal(second.exited()?.code, 0);
});

t.test('kill -9 after the relay produced, before it deleted: the same change ids again', async (t) => {
  const s = await scenario();
  const first = startSink({ ...s.env, FAULT_KILL_AROUND_RELAY: '2' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.match(await first.exit, { signal: 'SIGKILL' }, 'it died between the produce and the delete');
  t.ok((await feed(s.changesTopic)).length > 0, 'the relay had produced');
  // Its rows stay in the outbox until a relay of `event-sink` sends them again (the restarted
  // process, or a running stack's sink).

  const { second, wire, folded } = await restartAndCheck(t, s);
  t.ok(
    wire.length > folded.distinct,
    `at least once on the wire (${wire.length} records, ${folded.distinct} changes)`,
  );
  await second.stop();
  t.equal(second.exited()?.code, 0);
});
