/**
 * The acceptance property of profiles, across the three processors that touch them: random streams
 * of anonymous browsing, identifies, aliases, orders and status changes, applied by the event sink,
 * the identities and the orders processors as they would be in production (each topic in arrival
 * order, random batch splits, processors interleaved and run concurrently, instances restarted and
 * batches redelivered), end in the same state as the same stream applied one record at a time in
 * event-time order: every event on exactly one surviving customer, old ids resolving to the survivor,
 * the newest traits by event time, every order's columns from its latest update; and every computed column of customers equal to a
 * from-scratch recompute (contract invariant 2) after the run, after a replay of every topic from
 * offset 0, and after the scheduled refresh at later dates (an injected clock).
 * FUZZ_SEED / FUZZ_RUNS override the seed and the number of runs.
 */
import t from 'tap';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { isRetryable } from '../../shared/src/errors.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { sleep } from '../../shared/src/retry.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import { harness, batchOf, type Harness } from '../../shared/test/processor-harness.js';
import { config, logger, randomName } from '../../shared/test/support.js';
import { createEventSink } from '../../event-sink/src/sink.js';
import { createSinkMetrics } from '../../event-sink/src/metrics.js';
import { eventRecord } from '../../event-sink/test/fixtures.js';
import { codec } from '../../event-sink/test/support.js';
import { createOrdersProcessor } from '../../orders/src/processor.js';
import { orderRecord } from '../../orders/test/fixtures.js';
import { createIdentitiesProcessor } from '../src/processor.js';
import { metricDifferences } from '../../shared/src/customers/metrics/check.js';
import { refreshClockDrivenMetrics } from '../../shared/src/customers/metrics/refresh.js';
import { DAY_MS } from '../../shared/src/customers/metrics/rules.js';
import { METRIC_COLUMNS } from '../../shared/src/customers/metrics/values.js';
import { identityRecord } from './fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 8);
const USERS = 3;
const ANONS = 5;
const ORDERS = 3;
const PREFIX = 'converge.';
const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'converge-test',
  registry: new Registry(),
  max: 8,
});
t.teardown(async () => {
  // The identities processor's changes went to the outbox for a topic that does not exist here.
  await db.query('test.converge-outbox', 'DELETE FROM outbox WHERE topic = $1', [
    PREFIX + Topics.customerChanges,
  ]);
  await db.end();
});

type Kind = 'events' | 'identities' | 'orders';
const topicOf: Record<Kind, string> = {
  events: PREFIX + Topics.events,
  identities: PREFIX + Topics.identities,
  orders: PREFIX + Topics.orders,
};

interface World {
  /** anonymous id i -> the user it belongs to (or nobody). */
  links: (number | null)[];
  /** order k -> its customer: an anonymous id or a user. */
  owners: { anon: boolean; who: number }[];
}

type Spec =
  | { kind: 'event'; anon: boolean; who: number; minute: number; page: boolean; session: number | null }
  | {
      kind: 'identify';
      user: number;
      anon: number | null;
      minute: number;
      email: string | null;
      plan: string | null;
      birthday: string | null;
    }
  | { kind: 'alias'; anon: number; minute: number }
  | {
      kind: 'order';
      order: number;
      minute: number;
      status: 'confirmed' | 'shipped' | 'delivered' | 'refunded' | 'cancelled' | null;
      total: number | null;
    };

const worldArb: fc.Arbitrary<World> = fc.record({
  links: fc.array(fc.option(fc.integer({ min: 0, max: USERS - 1 }), { freq: 3 }), {
    minLength: ANONS,
    maxLength: ANONS,
  }),
  owners: fc.array(fc.record({ anon: fc.boolean(), who: fc.integer({ min: 0, max: ANONS - 1 }) }), {
    minLength: ORDERS,
    maxLength: ORDERS,
  }),
});
// Five months, so that customers go quiet for more than 30 and 90 days and come back (the
// lifecycle's at_risk, churned and reactivated), and the 30-day window of recent events moves.
const SPAN_MINUTES = 150 * 24 * 60;
const minute = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: SPAN_MINUTES }));
const specArb: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      anon: fc.boolean(),
      who: fc.integer({ min: 0, max: ANONS - 1 }),
      minute,
      page: fc.boolean(),
      session: fc.option(fc.integer({ min: 0, max: 3 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('identify' as const),
      user: fc.integer({ min: 0, max: USERS - 1 }),
      anon: fc.option(fc.integer({ min: 0, max: ANONS - 1 })),
      minute,
      email: fc.option(fc.constantFrom('a@x.io', 'b@x.io', 'c@x.io')),
      plan: fc.option(fc.constantFrom('free', 'pro')),
      birthday: fc.option(fc.constantFrom('1990-05-17', '2010-12-02', '1950-01-01'), { freq: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('alias' as const),
      anon: fc.integer({ min: 0, max: ANONS - 1 }),
      minute,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      order: fc.integer({ min: 0, max: ORDERS - 1 }),
      minute,
      status: fc.option(
        fc.constantFrom(
          'confirmed' as const,
          'shipped' as const,
          'delivered' as const,
          'refunded' as const,
          'cancelled' as const,
        ),
      ),
      total: fc.option(
        fc.integer({ min: 100, max: 9_900 }).map((c) => c / 100),
        { freq: 2 },
      ),
    }),
  },
);

/** How the chaotic run goes: arrival order, batch sizes, concurrency, restarts (consumed in turn). */
const chaosArb = fc.record({
  arrival: fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
  choices: fc.array(fc.nat({ max: 99 }), { minLength: 200, maxLength: 200 }),
});

interface Rec {
  kind: Kind;
  minute: number;
  index: number;
  value: Buffer;
}

let schemas: Record<Kind, number>;
t.before(async () => {
  schemas = {
    events: await codec.register(valueSubject(Topics.events), await readSchemaFile('event.avsc')),
    identities: await codec.register(valueSubject(Topics.identities), await readSchemaFile('identity.avsc')),
    orders: await codec.register(valueSubject(Topics.orders), await readSchemaFile('order.avsc')),
  };
});

/** The records of `specs` in the world `ns` (ids, messageIds and order ids carry it). */
async function materialize(world: World, specs: Spec[], ns: string, base: number): Promise<Rec[]> {
  const user = (j: number) => `${ns}-u${j}`;
  const anon = (i: number) => `${ns}-a${i}`;
  const now = Date.now();
  const at = (m: number) => base + m * 60_000;
  const out: Rec[] = [];
  for (const [index, s] of specs.entries()) {
    const messageId = `${ns}-m${index}`;
    if (s.kind === 'event') {
      const who = s.anon ? { anonymousId: anon(s.who), userId: null } : { userId: user(s.who % USERS) };
      const e = eventRecord(
        {
          messageId,
          ...who,
          type: s.page ? 'PAGE' : 'TRACK',
          event: s.page ? null : 'Product Viewed',
          name: s.page ? 'Home' : null,
          timestamp: at(s.minute),
          receivedAt: now,
        },
        { sessionId: s.session === null ? null : `${ns}-s${s.session}` },
      );
      out.push({ kind: 'events', minute: s.minute, index, value: await codec.encode(schemas.events, e) });
    } else if (s.kind === 'identify' || s.kind === 'alias') {
      let r;
      if (s.kind === 'identify') {
        // An anonymous id is only ever linked to its own user: conflicting links are refused, by rule.
        const linked = s.anon !== null && world.links[s.anon] === s.user ? anon(s.anon) : null;
        const traits: Record<string, unknown> = {};
        if (s.email) traits.email = s.email;
        if (s.plan) traits.plan = s.plan;
        if (s.birthday) traits.birthday = s.birthday;
        r = identityRecord({
          messageId,
          userId: user(s.user),
          anonymousId: linked,
          traits,
          timestamp: at(s.minute),
          receivedAt: now,
        });
      } else {
        const owner = world.links[s.anon];
        if (owner === null || owner === undefined) continue;
        r = identityRecord({
          messageId,
          type: 'ALIAS',
          userId: user(owner),
          previousId: anon(s.anon),
          timestamp: at(s.minute),
          receivedAt: now,
        });
      }
      out.push({
        kind: 'identities',
        minute: s.minute,
        index,
        value: await codec.encode(schemas.identities, r),
      });
    } else {
      const o = world.owners[s.order]!;
      const who = o.anon ? { anonymousId: anon(o.who) } : { userId: user(o.who % USERS) };
      const r = orderRecord({
        messageId,
        order_id: `${ns}-o${s.order}`,
        ...who,
        order_status: s.status,
        order_total: s.total,
        timestamp: at(s.minute),
        receivedAt: now,
      });
      out.push({ kind: 'orders', minute: s.minute, index, value: await codec.encode(schemas.orders, r) });
    }
  }
  return out;
}

/** One instance of each processor, on fresh groups (or the given ones: a restart). */
async function processors(groups: Record<Kind, string>, deadLetters: OutRecord[]) {
  const publish = async (r: OutRecord[]) => void deadLetters.push(...r);
  const registry = new Registry();
  const defs: Record<Kind, ProcessorDefinition<unknown, unknown>> = {
    events: createEventSink({
      db,
      codec,
      metrics: createSinkMetrics(registry),
      groupId: groups.events,
      topic: topicOf.events,
      limits,
    }) as ProcessorDefinition<unknown, unknown>,
    identities: (await createIdentitiesProcessor(
      { db, codec, logger, registry: new Registry() },
      { groupId: groups.identities, topicPrefix: PREFIX, maxFutureMs: limits.maxFutureMs },
    )) as ProcessorDefinition<unknown, unknown>,
    orders: createOrdersProcessor(
      { codec, registry: new Registry() },
      { groupId: groups.orders, topicPrefix: PREFIX, maxFutureMs: limits.maxFutureMs },
    ) as ProcessorDefinition<unknown, unknown>,
  };
  const h = {} as Record<Kind, Harness<unknown, unknown>>;
  for (const k of ['events', 'identities', 'orders'] as const)
    h[k] = await harness(defs[k], { db, codec, publish });
  return h;
}

/**
 * As the runtime's consumer does (partition-consumer.ts): a retryable failure, such as the sink's
 * insert meeting a customer a concurrent merge deleted (23503), retries the same batch.
 */
async function retrying(h: Harness<unknown, unknown>, batch: ReturnType<typeof batchOf>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await h.applier.handle(batch);
    } catch (err) {
      if (!isRetryable(err) || attempt >= 10) throw err;
      await sleep(10 * attempt);
    }
  }
}

/** The handlers of one topic's batch: cdp.events goes to the sink and to the orders processor. */
function handle(
  h: Record<Kind, Harness<unknown, unknown>>,
  kind: Kind,
  values: Buffer[],
  from: number,
): Promise<unknown> {
  const batch = batchOf(topicOf[kind], values, from);
  if (kind === 'events') return Promise.all([retrying(h.events, batch), retrying(h.orders, batch)]);
  return retrying(h[kind], batch);
}

const freshGroups = (): Record<Kind, string> => ({
  events: randomName('cv-sink'),
  identities: randomName('cv-ids'),
  orders: randomName('cv-orders'),
});

/** One record at a time, in event-time order. */
async function applyInOrder(recs: Rec[], deadLetters: OutRecord[]): Promise<void> {
  const h = await processors(freshGroups(), deadLetters);
  const next: Record<Kind, number> = { events: 0, identities: 0, orders: 0 };
  for (const r of [...recs].sort((a, b) => a.minute - b.minute || a.index - b.index)) {
    await handle(h, r.kind, [r.value], next[r.kind]++);
  }
}

/** As production would: arrival order per topic, random batches, interleaved, concurrent, restarted. */
async function applyChaotically(
  recs: Rec[],
  chaos: { arrival: number[]; choices: number[] },
  deadLetters: OutRecord[],
) {
  let c = 0;
  const choice = () => chaos.choices[c++ % chaos.choices.length]!;
  const arrival = recs
    .map((r, i) => ({ r, key: chaos.arrival[i % chaos.arrival.length]! * 1000 + i }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.r);
  const queues: Record<Kind, Buffer[][]> = { events: [], identities: [], orders: [] };
  for (const kind of ['events', 'identities', 'orders'] as const) {
    const values = arrival.filter((r) => r.kind === kind).map((r) => r.value);
    for (let i = 0; i < values.length;) {
      const size = 1 + (choice() % 4);
      queues[kind].push(values.slice(i, i + size));
      i += size;
    }
  }
  const groups = freshGroups();
  const all = { ...queues };
  for (const kind of ['events', 'identities', 'orders'] as const) all[kind] = [...queues[kind]];
  let h = await processors(groups, deadLetters);
  const offsets: Record<Kind, number> = { events: 0, identities: 0, orders: 0 };
  const take = (kind: Kind) => {
    const values = queues[kind].shift()!;
    const from = offsets[kind];
    offsets[kind] += values.length;
    return { kind, values, from };
  };
  const pending = () => (['events', 'identities', 'orders'] as const).filter((k) => queues[k].length > 0);
  while (pending().length > 0) {
    const open = pending();
    const first = take(open[choice() % open.length]!);
    const rest = pending().filter((k) => k !== first.kind);
    // Two topics' batches at once, as two processes would.
    const second = rest.length > 0 && choice() < 40 ? take(rest[choice() % rest.length]!) : undefined;
    await Promise.all(
      [first, second].filter((b) => b !== undefined).map((b) => handle(h, b.kind, b.values, b.from)),
    );
    if (choice() < 15) {
      // A restart: new instances on the same groups; the last batch is delivered again.
      h = await processors(groups, deadLetters);
      await handle(h, first.kind, first.values, first.from);
    }
  }
  return { groups, all };
}

/** Every topic again from offset 0 on the same groups, as after a reset of the consumers. */
async function replayAll(
  run: { groups: Record<Kind, string>; all: Record<Kind, Buffer[][]> },
  deadLetters: OutRecord[],
): Promise<void> {
  const h = await processors(run.groups, deadLetters);
  for (const kind of ['events', 'identities', 'orders'] as const) {
    const values = run.all[kind].flat();
    if (values.length > 0) await handle(h, kind, values, 0);
  }
}

async function customerIdsOf(ns: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'test.converge-ids',
    'SELECT id FROM customers WHERE customer_id LIKE $1',
    [`${ns}-%`],
  );
  return rows.map((r) => r.id);
}

/** What the profiles look like in world `ns`, with `ns` written as NS so two worlds compare. */
async function snapshot(ns: string): Promise<unknown> {
  const like = `${ns}-%`;
  const q = async (sql: string) => (await db.query('test.converge-snapshot', sql, [like])).rows;
  const state = {
    resolves: await q(
      `SELECT i.external_id, c.customer_id FROM customer_identities i JOIN customers c ON c.id = i.customer_id
       WHERE i.external_id LIKE $1 ORDER BY 1`,
    ),
    events: await q(
      `SELECT e.message_id, c.customer_id, count(*) OVER (PARTITION BY e.message_id)::int AS copies
       FROM customer_events e JOIN customers c ON c.id = e.customer_id WHERE e.message_id LIKE $1 ORDER BY 1`,
    ),
    customers: await q(
      `SELECT customer_id, email, custom_attributes->>'plan' AS plan, ${METRIC_COLUMNS.join(', ')}
       FROM customers WHERE customer_id LIKE $1 ORDER BY 1`,
    ),
    orders: await q(
      `SELECT o.order_id, c.customer_id, o.order_status, o.order_total, o.is_first_order, o.shipped_at, o.delivered_at
       FROM customer_orders o JOIN customers c ON c.id = o.customer_id WHERE o.order_id LIKE $1 ORDER BY 1`,
    ),
  };
  return JSON.parse(JSON.stringify(state).replaceAll(ns, 'NS'));
}

t.test('any interleaving of the three processors ends where event-time order does', async (t) => {
  const base = Math.floor((Date.now() - SPAN_MINUTES * 60_000 - DAY_MS) / 60_000) * 60_000;
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      worldArb,
      fc.array(specArb, { minLength: 10, maxLength: 40 }),
      chaosArb,
      async (world, specs, chaos) => {
        run++;
        const deadLetters: OutRecord[] = [];
        const ordered = randomName('cvo');
        const chaotic = randomName('cvc');
        await applyInOrder(await materialize(world, specs, ordered, base), deadLetters);
        const chaotically = await applyChaotically(
          await materialize(world, specs, chaotic, base),
          chaos,
          deadLetters,
        );
        const ids = [...(await customerIdsOf(ordered)), ...(await customerIdsOf(chaotic))];
        t.same(
          await metricDifferences(db, ids, Date.now()),
          [],
          `run ${run}: every metric equals the recompute`,
        );
        await replayAll(chaotically, deadLetters);
        t.same(
          await metricDifferences(db, ids, Date.now()),
          [],
          `run ${run}: and after a replay from offset 0`,
        );
        t.equal(deadLetters.length, 0, `run ${run}: nothing dead-lettered`);
        const expected = (await snapshot(ordered)) as { events: { copies: number }[] };
        t.same(await snapshot(chaotic), expected, `run ${run}: the same profiles, events and orders`);
        const events = specs.filter((s) => s.kind === 'event').length;
        t.equal(expected.events.length, events, `run ${run}: every event landed`);
        t.ok(
          expected.events.every((e) => e.copies === 1),
          `run ${run}: each once`,
        );
        // Time passes without events: the scheduled refresh at later dates equals the recompute then.
        for (const days of [20, 45, 100, 400]) {
          const asOf = Date.now() + days * DAY_MS;
          await refreshClockDrivenMetrics(db, new Date(asOf), { only: ids, sliceSize: 7 });
          t.same(await metricDifferences(db, ids, asOf), [], `run ${run}: after the refresh ${days} days on`);
        }
      },
    ),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
});
