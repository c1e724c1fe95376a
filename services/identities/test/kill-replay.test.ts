/**
 * The identities process through a crash and a full replay: identifies, identify links and
 * aliases for 40 users and 60 anonymous ids, in a shuffled order (older records after newer ones,
 * links before and after the anonymous profile's own records, some anonymous profiles already
 * carrying events); kill -9 while a batch transaction is open, restart, and every anonymous id
 * resolves to its user, every event is on that user's profile once, and the newest trait by event
 * time won. Then replay the topic from offset 0 (stored offsets and this test's message
 * de-duplication rows wiped, so only the processor's own idempotence holds) and nothing changes.
 */
import t from 'tap';
import { randomBytes, randomUUID } from 'node:crypto';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { createProducer, ensureTopics } from '../../shared/src/kafka/client.js';
import { dlqSpec, dlqTopic, Topics, valueSubject } from '../../shared/src/topics.js';
import { endOffsets, testKafka } from '../../shared/test/kafka-support.js';
import { startProcessor } from '../../shared/test/processor-process.js';
import { randomName, waitFor } from '../../shared/test/support.js';
import type { IdentityRecord } from '../src/mapping/identity-record.js';
import { sinkCustomer } from './db-fixtures.js';
import { identityRecord } from './fixtures.js';
import { setup } from './support.js';

const s = await setup(t);
await s.db.query('identities-test.partition', 'SELECT ensure_customer_events_partition(now())');

const USERS = 40;
const ANONS = 60;
const TRAITS = ['email', 'name', 'plan'] as const;
type Trait = (typeof TRAITS)[number];

/** mulberry32: the whole stream follows from one seed, printed so a failure can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One record of the stream, and what it should come to. */
interface Planned {
  type: 'IDENTIFY' | 'ALIAS';
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  /** The user whose profile the record's traits end on. */
  owner: string;
  traits: Partial<Record<Trait, string>>;
  messageId: string;
  time: number;
}

interface Snapshot {
  /** Every external id of the test, and the customer_id of the customer it resolves to. */
  ids: [string, string | null][];
  customers: {
    customer_id: string;
    email: string | null;
    name: string | null;
    custom_attributes: Record<string, unknown> | null;
    external_ids: Record<string, string[]> | null;
    trait_times: unknown;
    first_seen_at: string;
    last_seen_at: string | null;
  }[];
  /** The pre-inserted events: message_id and the customer_id of the customer holding each row. */
  events: [string, string][];
}

/** Everything the processor derived for this test's ids, as comparable text and parsed. */
async function snapshot(ids: readonly string[], eventIds: readonly string[]) {
  const { rows } = await s.db.query<{ snap: Snapshot }>(
    'identities-test.kr-snapshot',
    `WITH mine AS (
       SELECT id FROM customers WHERE customer_id = ANY($1::text[])
       UNION SELECT customer_id FROM customer_identities WHERE external_id = ANY($1::text[])
     )
     SELECT json_build_object(
       'ids', (SELECT coalesce(json_agg(json_build_array(x.external_id, c.customer_id) ORDER BY x.external_id), '[]')
               FROM unnest($1::text[]) AS x(external_id)
               LEFT JOIN customer_identities ci ON ci.external_id = x.external_id
               LEFT JOIN customers c ON c.id = ci.customer_id),
       'customers', (SELECT coalesce(json_agg(json_build_object(
                       'customer_id', c.customer_id, 'email', c.email, 'name', c.name,
                       'custom_attributes', c.custom_attributes, 'external_ids', c.external_ids,
                       'trait_times', c.trait_times, 'first_seen_at', c.first_seen_at,
                       'last_seen_at', c.last_seen_at) ORDER BY c.customer_id), '[]')
                     FROM customers c WHERE c.id IN (SELECT id FROM mine)),
       'events', (SELECT coalesce(json_agg(json_build_array(e.message_id, c.customer_id)
                                           ORDER BY e.message_id, c.customer_id), '[]')
                  FROM customer_events e JOIN customers c ON c.id = e.customer_id
                  WHERE e.customer_id IN (SELECT id FROM mine) AND e.message_id = ANY($2::text[]))
     ) AS snap`,
    [ids, eventIds],
  );
  const snap = rows[0]!.snap;
  return { text: JSON.stringify(snap), snap };
}

t.test(
  'kill -9 mid-stream, restart, replay from 0 without de-duplication: the same profiles',
  { timeout: 120_000 },
  async (t) => {
    const seed = Number(process.env.TEST_SEED ?? randomBytes(4).readUInt32LE());
    t.comment(`seed ${seed} (TEST_SEED=${seed} repeats this stream)`);
    const rand = random(seed);
    const prefix = `${randomName('test-ikr')}.`;
    const input = prefix + Topics.identities;
    const kafka = testKafka();
    await ensureTopics(kafka, [
      { topic: input, partitions: 2 },
      dlqSpec(input),
      { topic: prefix + Topics.customerChanges, partitions: 1 },
    ]);
    const schemaId = await s.codec.register(
      valueSubject(Topics.identities),
      await readSchemaFile('identity.avsc'),
    );

    const users = Array.from({ length: USERS }, (_, i) => `${prefix}u${String(i).padStart(2, '0')}`);
    const anons = Array.from({ length: ANONS }, (_, j) => `${prefix}a${String(j).padStart(2, '0')}`);
    /** Each anonymous id is linked to exactly one user; users 0-19 get two, the others one. */
    const ownerOf = (j: number) => users[j % USERS]!;

    // The stream. Every identify carries a non-empty subset of the traits, each value unique.
    let n = 0;
    const traitsOf = (): Partial<Record<Trait, string>> => {
      const k = n;
      const picked = TRAITS.filter(() => rand() < 0.6);
      const chosen = picked.length > 0 ? picked : [TRAITS[k % TRAITS.length]!];
      const values: Record<Trait, string> = { email: `r${k}@kr.test`, name: `Name ${k}`, plan: `plan-${k}` };
      return Object.fromEntries(chosen.map((c) => [c, values[c]]));
    };
    const specs: Omit<Planned, 'time'>[] = [];
    const add = (p: Omit<Planned, 'time' | 'messageId'>) => {
      specs.push({ ...p, messageId: randomUUID() });
      n++;
    };
    const identify = (userId: string | null, anonymousId: string | null, owner: string) =>
      add({ type: 'IDENTIFY', userId, anonymousId, previousId: null, owner, traits: traitsOf() });
    const alias = (previousId: string, userId: string) =>
      add({ type: 'ALIAS', userId, anonymousId: null, previousId, owner: userId, traits: {} });
    for (const user of users) for (let k = 0; k < 2; k++) identify(user, null, user);
    for (const [j, anon] of anons.entries()) {
      const owner = ownerOf(j);
      // The anonymous profile's own identifies, keyed by the anonymous id (another partition, maybe).
      for (let k = 0; k < (j % 5 === 0 ? 2 : 1); k++) identify(null, anon, owner);
      // The link: identify(userId, anonymousId) for even j, alias(previousId -> userId) for odd;
      // some of them twice.
      for (let k = 0; k < (j % 7 === 0 ? 2 : 1); k++) {
        if (j % 2 === 0) identify(owner, anon, owner);
        else alias(anon, owner);
      }
    }
    // Distinct event times in a random order, and a production order independent of them.
    const base = Date.now() - 3 * 3600_000;
    const times = shuffled(
      specs.map((_, i) => base + i * 1000 + 17),
      rand,
    );
    const planned: Planned[] = shuffled(
      specs.map((p, i) => ({ ...p, time: times[i]! })),
      rand,
    );
    let inversions = 0;
    for (const [i, p] of planned.entries())
      for (const q of planned.slice(i + 1)) if (q.owner === p.owner && q.time < p.time) inversions++;
    t.ok(inversions > 0, `older records produced after newer ones of the same user (${inversions} pairs)`);

    // Before the processor runs: a quarter of the users and two thirds of the anonymous ids already
    // have a profile (as the event sink creates them), and those carry events that merges must move.
    const events = new Map<string, string>(); // message_id -> the user it must end on
    const insertEvent = async (customerId: string, owner: string) => {
      const messageId = randomUUID();
      await s.db.query(
        'identities-test.kr-event',
        `INSERT INTO customer_events (customer_id, event_type, event_name, occurred_at, message_id)
         VALUES ($1, 'page_view', 'Page Viewed', now(), $2)`,
        [customerId, messageId],
      );
      events.set(messageId, owner);
    };
    const seenBefore = new Date(base - 3600_000);
    for (const [i, user] of users.entries()) {
      if (i % 4 !== 0) continue;
      const id = await sinkCustomer(s.db, user, 'user_id', seenBefore);
      if (i % 8 === 0) await insertEvent(id, user);
    }
    for (const [j, anon] of anons.entries()) {
      if (j % 3 === 2) continue;
      const id = await sinkCustomer(s.db, anon, 'anonymous_id', seenBefore);
      for (let k = 0; k < 1 + (j % 2); k++) await insertEvent(id, ownerOf(j));
    }

    const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const record = (p: Planned): IdentityRecord =>
      identityRecord({
        type: p.type,
        messageId: p.messageId,
        userId: p.userId,
        anonymousId: p.anonymousId,
        previousId: p.previousId,
        timestamp: p.time,
        receivedAt: p.time + 250,
        traits: p.traits,
      });
    await producer.send({
      topic: input,
      acks: -1,
      messages: await Promise.all(
        planned.map(async (p) => ({
          key: p.userId ?? p.anonymousId!,
          value: await s.codec.encode(schemaId, record(p)),
        })),
      ),
    });
    await producer.disconnect();

    const group = randomName('identities-group');
    const run = (env: Record<string, string> = {}) =>
      startProcessor('services/identities/src/main.ts', {
        TOPIC_PREFIX: prefix,
        IDENTITIES_GROUP: group,
        IDENTITIES_PORT: '0',
        IDENTITIES_MAX_BATCH: '10',
        ...env,
      });
    const stored = async () =>
      (
        await s.db.query<{ n: number }>(
          'identities-test.kr-offsets',
          'SELECT coalesce(sum(next_offset), 0)::int AS n FROM consumer_offsets WHERE consumer_group = $1',
          [group],
        )
      ).rows[0]!.n;
    const caughtUp = async () => (await stored()) >= planned.length;
    const ids = [...users, ...anons];
    const eventIds = [...events.keys()];

    // Killed while a batch transaction is open: each one waits 400 ms before its COMMIT.
    const first = run({ FAULT_PAUSE_BEFORE_COMMIT_MS: '400' });
    t.teardown(() => void first.child.kill('SIGKILL'));
    await waitFor(
      'a third of the records committed and a batch open',
      async () => {
        if ((await stored()) < planned.length / 3) return false;
        const open = await s.db.query(
          'identities-test.kr-open',
          `SELECT 1 FROM pg_stat_activity
           WHERE application_name = $1 AND state = 'idle in transaction' AND backend_xid IS NOT NULL`,
          [`identities/${first.child.pid}`],
        );
        return (open.rowCount ?? 0) > 0;
      },
      60_000,
      20,
    );
    first.child.kill('SIGKILL');
    t.match(await first.exit, { signal: 'SIGKILL' });
    const atKill = await stored();
    t.ok(atKill < planned.length, `killed mid-stream (${atKill} of ${planned.length} records stored)`);

    const second = run();
    t.teardown(() => void second.child.kill('SIGKILL'));
    await waitFor('every record applied', caughtUp, 60_000, 200);
    await second.stop();
    t.equal(second.exited()?.code, 0, 'a clean exit', { output: second.lastLines() });

    const after = await snapshot(ids, eventIds);
    t.same(
      after.snap.ids,
      [...users.map((u) => [u, u]), ...anons.map((a, j) => [a, ownerOf(j)])].sort((x, y) =>
        x[0]! < y[0]! ? -1 : 1,
      ),
      'each user resolves to itself, each anonymous id to its user',
    );
    t.same(
      after.snap.customers.map((c) => c.customer_id).sort(),
      [...users].sort(),
      'one customer per user; no anonymous profile is left',
    );

    // Per user and trait: the value of the newest record (by event time) that carried it.
    const expected = users.map((user) => {
      const newest = (trait: Trait) =>
        planned
          .filter((p) => p.owner === user && p.traits[trait] !== undefined)
          .reduce<Planned | undefined>((a, p) => (a && a.time > p.time ? a : p), undefined)?.traits[trait] ??
        null;
      const plan = newest('plan');
      return {
        customer_id: user,
        email: newest('email'),
        name: newest('name'),
        custom_attributes: plan === null ? {} : { plan },
        external_ids: { user_id: [user], linked: anons.filter((_, j) => ownerOf(j) === user).sort() },
      };
    });
    const actual = [...after.snap.customers]
      .sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1))
      .map((c) => {
        const { user_id, anonymous_id, alias, ...others } = c.external_ids ?? {};
        return {
          customer_id: c.customer_id,
          email: c.email,
          name: c.name,
          custom_attributes: c.custom_attributes ?? {},
          external_ids: {
            user_id,
            linked: [...(anonymous_id ?? []), ...(alias ?? [])].sort(),
            ...(Object.keys(others).length > 0 ? { others } : {}),
          },
        };
      });
    t.same(actual, expected, 'the newest trait by event time won; external_ids hold every linked id');

    t.same(
      [...after.snap.events].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      [...events.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      `each of the ${events.size} events is on its user's profile, once`,
    );
    const dlq = await endOffsets(kafka, [dlqTopic(input)]);
    t.same(
      dlq[dlqTopic(input)]!.map((p) => p.offset),
      ['0'],
      'nothing was dead-lettered',
    );

    // Replay from offset 0 with no message de-duplication to help.
    await s.db.query(
      'identities-test.kr-rewind',
      'UPDATE consumer_offsets SET next_offset = 0 WHERE consumer_group = $1',
      [group],
    );
    const forgotten = await s.db.query(
      'identities-test.kr-forget',
      "DELETE FROM message_dedup WHERE scope = 'identities' AND source_key = 'kafka' AND message_id = ANY($1)",
      [planned.map((p) => p.messageId)],
    );
    t.equal(forgotten.rowCount, planned.length, 'every record had its de-duplication row');
    const third = run();
    t.teardown(() => void third.child.kill('SIGKILL'));
    await waitFor('the replay applied', caughtUp, 60_000, 200);
    await third.stop();
    t.equal(third.exited()?.code, 0, 'a clean exit', { output: third.lastLines() });
    t.equal((await snapshot(ids, eventIds)).text, after.text, 'the replay changed nothing');
  },
);
