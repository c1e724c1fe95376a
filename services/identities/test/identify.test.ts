import t from 'tap';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { randomName } from '../../shared/test/support.js';
import { FUZZ_SEED } from '../../shared/test/hostile.js';
import { counterValue, customerOf, input, setup, writeBatch } from './support.js';

const s = await setup(t);
const base = Date.now() - 3_600_000;
const at = (minutes: number) => ({ timestamp: base + minutes * 60_000, receivedAt: base + minutes * 60_000 });

t.test('identify fills the columns and custom_attributes, and publishes a CREATED change', async (t) => {
  const user = randomName('user');
  const { changes, counts } = await writeBatch(s, [
    input({
      userId: user,
      messageId: randomUUID(),
      ...at(0),
      traits: {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        phone: '+44 20 7946 0000',
        gender: 'female',
        birthday: '1990-05-17',
        address: { city: 'London', country: 'GB', state: 'LDN', postal_code: 'NW1', street: '1 Main St' },
        timezone: 'Europe/London',
        plan: 'pro',
        seats: 3,
      },
    }),
  ]);
  const c = (await customerOf(s.db, user))!;
  t.match(c, {
    customer_id: user,
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    phone: '+44 20 7946 0000',
    gender: 'female',
    date_of_birth: '1990-05-17',
    age_group: '35-44',
    city: 'London',
    country: 'GB',
    state: 'LDN',
    postal_code: 'NW1',
    timezone: 'Europe/London',
  });
  t.same(c.custom_attributes, { plan: 'pro', seats: 3, address: { street: '1 Main St' } });
  t.same(c.external_ids, { user_id: [user] });
  t.same(counts.applied, { identify: 1 });
  t.equal(changes.length, 1);
  t.match(changes[0], {
    kind: 'CREATED',
    externalId: user,
    customerId: c.id,
    producer: 'identities',
    mergedFrom: [],
  });
  const columns = changes[0]!.changes.map((ch) => ch.column);
  t.ok(columns.includes('email') && columns.includes('custom_attributes') && columns.includes('customer_id'));
  t.notOk(columns.includes('total_orders'), 'defaults of a new customer are no change');
  t.equal(changes[0]!.changes.find((ch) => ch.column === 'email')?.newJson, '"ada@example.com"');
});

t.test('custom_attributes are merged, not replaced; only what changed is published', async (t) => {
  const user = randomName('user');
  await writeBatch(s, [
    input({ userId: user, messageId: randomUUID(), ...at(0), traits: { plan: 'pro', seats: 3 } }),
  ]);
  const { changes } = await writeBatch(s, [
    input({ userId: user, messageId: randomUUID(), ...at(1), traits: { seats: 5, region: 'eu' } }),
  ]);
  const c = (await customerOf(s.db, user))!;
  t.same(c.custom_attributes, { plan: 'pro', seats: 5, region: 'eu' });
  t.equal(changes.length, 1);
  t.equal(changes[0]!.kind, 'UPDATED');
  t.same(
    changes[0]!.changes.map((ch) => [ch.column, ch.oldJson, ch.newJson]),
    [['custom_attributes', '{"plan":"pro","seats":3}', '{"plan":"pro","region":"eu","seats":5}']],
  );
});

t.test('replaying the same records changes nothing and publishes nothing', async (t) => {
  const user = randomName('user');
  const records = [
    input({ userId: user, messageId: randomUUID(), ...at(0), traits: { email: 'a@x', plan: 'a' } }),
    input({
      userId: user,
      anonymousId: randomName('anon'),
      messageId: randomUUID(),
      ...at(1),
      traits: { email: 'b@x' },
    }),
  ];
  await writeBatch(s, records);
  const before = await customerOf(s.db, user);
  const again = await writeBatch(s, records);
  t.same(again.changes, [], 'no change published');
  t.same(await customerOf(s.db, user), before, 'the row is as it was (updated_at included: no UPDATE ran)');
});

t.test('an older identify fills what no newer one set, and loses where one did', async (t) => {
  const user = randomName('user');
  await writeBatch(s, [
    input({ userId: user, messageId: randomUUID(), ...at(10), traits: { email: 'new@x' } }),
  ]);
  await writeBatch(s, [
    input({
      userId: user,
      messageId: randomUUID(),
      ...at(5),
      traits: { email: 'old@x', phone: '123', plan: 'old' },
    }),
  ]);
  const c = (await customerOf(s.db, user))!;
  t.equal(c.email, 'new@x');
  t.equal(c.phone, '123');
  t.same(c.custom_attributes, { plan: 'old' });
});

t.test('external_ids keeps every id the customer was seen under', async (t) => {
  const user = randomName('user');
  const [a1, a2] = [randomName('anon'), randomName('anon')];
  await writeBatch(s, [input({ userId: user, anonymousId: a1, messageId: randomUUID(), ...at(0) })]);
  await writeBatch(s, [input({ userId: user, anonymousId: a2, messageId: randomUUID(), ...at(1) })]);
  await writeBatch(s, [
    input({
      type: 'ALIAS',
      userId: user,
      previousId: randomName('legacy'),
      messageId: randomUUID(),
      ...at(2),
    }),
  ]);
  const c = (await customerOf(s.db, user))!;
  const ids = c.external_ids as Record<string, string[]>;
  t.same(ids.user_id, [user]);
  t.same(ids.anonymous_id, [a1, a2].sort());
  t.equal(ids.alias?.length, 1);
});

t.test('over-long values are cut and counted; an impossible birthday is ignored and counted', async (t) => {
  const user = randomName('user');
  const truncatedBefore = await counterValue(s.registry, 'identities_truncated_values_total', {
    column: 'phone',
  });
  const ignoredBefore = await counterValue(s.registry, 'identities_ignored_values_total', {
    column: 'date_of_birth',
  });
  await writeBatch(s, [
    input({
      userId: user,
      messageId: randomUUID(),
      ...at(0),
      traits: { phone: '1'.repeat(30), birthday: '1990-13-45', name: 'Still Stored' },
    }),
  ]);
  const c = (await customerOf(s.db, user))!;
  t.equal(c.phone, '1'.repeat(20));
  t.equal(c.date_of_birth, null);
  t.equal(c.name, 'Still Stored');
  t.equal(
    await counterValue(s.registry, 'identities_truncated_values_total', { column: 'phone' }),
    truncatedBefore + 1,
  );
  t.equal(
    await counterValue(s.registry, 'identities_ignored_values_total', { column: 'date_of_birth' }),
    ignoredBefore + 1,
  );
});

t.test(
  'group: the group and its traits in customer_groups, the membership in customer_group_memberships',
  async (t) => {
    const [user, group] = [randomName('user'), randomName('acme')];
    await writeBatch(s, [
      input({
        type: 'GROUP',
        userId: user,
        groupId: group,
        messageId: randomUUID(),
        ...at(5),
        traits: { name: 'Acme', plan: 'b' },
      }),
      input({
        type: 'GROUP',
        userId: user,
        groupId: group,
        messageId: randomUUID(),
        ...at(1),
        traits: { plan: 'a', size: 10 },
      }),
    ]);
    const g = await s.db.query<{ traits: unknown; first_seen_at: Date }>(
      'identities-test.group',
      'SELECT traits, first_seen_at FROM customer_groups WHERE group_id = $1',
      [group],
    );
    t.same(g.rows[0]?.traits, { name: 'Acme', plan: 'b', size: 10 }, 'newer by event time wins per trait');
    t.equal(g.rows[0]?.first_seen_at.getTime(), base + 60_000);
    const c = (await customerOf(s.db, user))!;
    const m = await s.db.query<{ joined_at: Date }>(
      'identities-test.group-member',
      'SELECT joined_at FROM customer_group_memberships WHERE customer_id = $1 AND group_id = $2',
      [c.id, group],
    );
    t.equal(m.rows[0]?.joined_at.getTime(), base + 60_000, 'joined at the earliest group call');
    t.same(c.custom_attributes, {}, 'group traits are not copied onto the person');
  },
);

t.test('newer by event time wins whatever the arrival order and batching (seeded shuffle)', async (t) => {
  // Each run: a new customer, identifies with overlapping traits, applied in a random order split
  // into random batches. The result must be what applying them in event-time order gives.
  const traitValue = fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null });
  const identify = fc.record(
    {
      minute: fc.integer({ min: 0, max: 5 }),
      email: traitValue,
      city: traitValue,
      plan: traitValue,
      tier: traitValue,
    },
    { requiredKeys: ['minute'] },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(identify, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { minLength: 32, maxLength: 32 }),
      async (ids, keys) => {
        const user = randomName('user');
        const records = ids.map((r, i) => {
          const { minute, city, ...rest } = r;
          const traits: Record<string, unknown> = { ...rest };
          if (city !== undefined) traits.address = { city };
          return input({ userId: user, messageId: `m-${String(i).padStart(2, '0')}`, ...at(minute), traits });
        });
        // The oracle: the last writer per trait by (time, messageId).
        const expected: Record<string, unknown> = {};
        const ordered = [...records].sort(
          (a, b) => a.occurredAt - b.occurredAt || (a.messageId < b.messageId ? -1 : 1),
        );
        for (const r of ordered) {
          for (const k of ['email', 'plan', 'tier'] as const) if (k in r.traits) expected[k] = r.traits[k];
          const address = r.traits.address as { city: unknown } | undefined;
          if (address) expected.city = address.city;
        }
        const shuffled = records
          .map((r, i) => ({ r, k: keys[i]! }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.r);
        let i = 0;
        while (i < shuffled.length) {
          const size = 1 + (keys[shuffled.length + i]! % 3);
          await writeBatch(s, shuffled.slice(i, i + size));
          i += size;
        }
        const c = (await customerOf(s.db, user))!;
        const custom = c.custom_attributes as Record<string, unknown>;
        const got = { email: c.email, city: c.city, plan: custom.plan ?? null, tier: custom.tier ?? null };
        const want = {
          email: expected.email ?? null,
          city: expected.city ?? null,
          plan: expected.plan ?? null,
          tier: expected.tier ?? null,
        };
        if (JSON.stringify(got) !== JSON.stringify(want))
          throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      },
    ),
    { seed: FUZZ_SEED, numRuns: Number(process.env.FUZZ_RUNS ?? 25) },
  );
  t.pass('the same profile in every order');
});
