import t from 'tap';
import { randomUUID } from 'node:crypto';
import { randomName } from '../../shared/test/support.js';
import { counterValue, customerOf, input, setup, writeBatch } from './support.js';
import {
  insertEvent,
  insertMemberships,
  insertOrder,
  insertRedemption,
  insertSend,
  marketing,
  rowsOf,
  sinkCustomer,
} from './db-fixtures.js';

const s = await setup(t);
await s.db.query('identities-test.partition', 'SELECT ensure_customer_events_partition(now())');
const mk = await marketing(s.db);
const base = Date.now() - 3_600_000;
const at = (minutes: number) => ({ timestamp: base + minutes * 60_000, receivedAt: base + minutes * 60_000 });
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

const identify = (userId: string | null, anonymousId: string | null, minute: number, traits = {}) =>
  input({ userId, anonymousId, messageId: randomUUID(), ...at(minute), traits });
const alias = (previousId: string, userId: string, minute: number) =>
  input({ type: 'ALIAS', userId, previousId, messageId: randomUUID(), ...at(minute) });

t.test('identify merges the anonymous profile into the known one: everything moves', async (t) => {
  const [user, anon] = [randomName('user'), randomName('anon')];
  const known = await sinkCustomer(s.db, user, 'user_id', minutesAgo(30));
  const anonSeen = minutesAgo(90);
  const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id', anonSeen);
  await writeBatch(s, [identify(null, anon, 1, { email: 'anon@x', plan: 'free' })]);
  await writeBatch(s, [identify(user, null, 2, { name: 'Known' })]);

  await insertEvent(s.db, known, minutesAgo(20));
  const anonFirstEvent = minutesAgo(80);
  await insertEvent(s.db, anonymous, anonFirstEvent);
  await insertEvent(s.db, anonymous, minutesAgo(70));
  await insertOrder(s.db, known, { total: 30, orderedAt: minutesAgo(25) });
  const anonOrder = await insertOrder(s.db, anonymous, { total: 50, orderedAt: minutesAgo(60) });
  await insertOrder(s.db, anonymous, { total: 99, status: 'refunded', orderedAt: minutesAgo(55) });
  await insertSend(s.db, mk.campaignId, known, { sentAt: minutesAgo(40), clicks: 1 });
  await insertSend(s.db, mk.campaignId, anonymous, {
    sentAt: minutesAgo(85),
    clicks: 2,
    openedAt: minutesAgo(84),
    status: 'delivered',
  });
  await insertMemberships(s.db, mk, known, '2026-02-01');
  await insertMemberships(s.db, mk, anonymous, '2026-01-01');
  await insertRedemption(s.db, mk.promotionId, anonymous, anonOrder.id);

  const mergesBefore = await counterValue(s.registry, 'identities_merges_total', { kind: 'merged' });
  const { changes, counts } = await writeBatch(s, [identify(user, anon, 3, { phone: '555' })]);
  t.same(counts.merges, { merged: 1 });
  t.equal(await counterValue(s.registry, 'identities_merges_total', { kind: 'merged' }), mergesBefore + 1);

  const gone = await s.db.query('identities-test.gone', 'SELECT 1 FROM customers WHERE id = $1', [anonymous]);
  t.equal(gone.rowCount, 0, 'the anonymous customer is deleted');
  t.same(await rowsOf(s.db, known), {
    events: 3,
    orders: 3,
    sends: 1,
    segments: 1,
    cohorts: 1,
    redemptions: 1,
    identities: 2,
  });
  const c = (await customerOf(s.db, anon))!;
  t.equal(c.id, known, 'the old id resolves to the survivor');
  t.equal(c.customer_id, user);
  t.match(c, {
    email: 'anon@x',
    name: 'Known',
    phone: '555',
    total_orders: 2,
    total_revenue: 80,
    // Confirmed, shipped or delivered orders: the refunded one counts 0.
    lifetime_value: 80,
  });
  t.same(c.custom_attributes, { plan: 'free' });
  t.same(c.external_ids, { user_id: [user], anonymous_id: [anon] });
  t.equal(
    new Date(c.first_seen_at as string).getTime(),
    anonFirstEvent.getTime(),
    'first_seen_at: the earliest activity of both (the survivor is recomputed from its events and orders)',
  );

  const send = await s.db.query<{
    total_clicks: number;
    send_status: string;
    opened_at: Date;
    sent_at: Date;
  }>(
    'identities-test.send',
    'SELECT total_clicks, send_status, opened_at, sent_at FROM campaign_sends WHERE customer_id = $1',
    [known],
  );
  t.match(
    send.rows[0],
    { total_clicks: 3, send_status: 'delivered' },
    'two sends of one campaign became one',
  );
  const cohort = await s.db.query<{ cohort_period: string }>(
    'identities-test.cohort',
    'SELECT cohort_period FROM cohort_memberships WHERE customer_id = $1',
    [known],
  );
  t.equal(cohort.rows[0]?.cohort_period, '2026-01', 'the earlier cohort period is kept');
  const first = await s.db.query<{ order_total: string }>(
    'identities-test.first-order',
    'SELECT order_total FROM customer_orders WHERE customer_id = $1 AND is_first_order',
    [known],
  );
  t.same(
    first.rows.map((r) => Number(r.order_total)),
    [50],
    'is_first_order moved to the earliest order of the merged history',
  );

  t.equal(changes.length, 1);
  t.match(changes[0], {
    kind: 'MERGED',
    customerId: known,
    externalId: user,
    mergedFrom: [anon],
    mergedFromIds: [anonymous],
  });
  const changed = changes[0]!.changes.map((ch) => ch.column);
  for (const col of ['email', 'phone', 'external_ids', 'total_orders', 'first_seen_at'])
    t.ok(changed.includes(col), col);
});

t.test(
  'alias(previousId -> userId) merges the same way; anonymous events after it resolve to the survivor',
  async (t) => {
    const [user, anon] = [randomName('user'), randomName('anon')];
    const known = await sinkCustomer(s.db, user, 'user_id');
    const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id');
    await insertEvent(s.db, anonymous);
    const { counts } = await writeBatch(s, [alias(anon, user, 1)]);
    t.same(counts.merges, { merged: 1 });
    t.equal((await rowsOf(s.db, known)).events, 1);
    // The event sink resolving the anonymous id afterwards.
    t.equal(await sinkCustomer(s.db, anon, 'anonymous_id'), known);
  },
);

t.test('a new userId adopts the anonymous profile: renamed, nothing moves', async (t) => {
  const [user, anon] = [randomName('user'), randomName('anon')];
  const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id');
  await insertEvent(s.db, anonymous);
  const { counts, changes } = await writeBatch(s, [identify(user, anon, 1, { email: 'new@x' })]);
  t.same(counts.merges, { adopted: 1 });
  const c = (await customerOf(s.db, user))!;
  t.equal(c.id, anonymous, 'the same customer');
  t.equal(c.customer_id, user, 'now under the userId');
  t.equal((await customerOf(s.db, anon))!.id, anonymous, 'the anonymous id still resolves to it');
  t.equal((await rowsOf(s.db, anonymous)).events, 1);
  t.same(c.external_ids, { user_id: [user], anonymous_id: [anon] });
  t.match(changes, [{ kind: 'UPDATED', externalId: user, mergedFrom: [] }]);
  t.same(
    changes[0]!.changes.find((ch) => ch.column === 'customer_id'),
    { column: 'customer_id', oldJson: JSON.stringify(anon), newJson: JSON.stringify(user) },
  );
});

t.test('every change of a customer is keyed by customers.id: through a rename and a merge', async (t) => {
  // Keyed by the external id, the CREATED would go under the anonymous id and the UPDATED of the
  // adoption under the userId: two partitions, and a consumer could see the UPDATED first.
  const [user, anon, later] = [randomName('user'), randomName('anon'), randomName('anon')];
  const created = await writeBatch(s, [identify(null, anon, 1, { email: 'a@x' })]);
  t.match(created.changes, [{ kind: 'CREATED', externalId: anon }]);
  const id = created.changes[0]!.customerId;
  t.same(created.keys, [id]);

  const adopted = await writeBatch(s, [identify(user, anon, 2, { name: 'A' })]);
  t.match(adopted.changes, [{ kind: 'UPDATED', customerId: id, externalId: user }]);
  t.same(adopted.keys, [id], 'the rename changed customer_id, not the key');

  const other = await writeBatch(s, [identify(null, later, 3, { plan: 'x' })]);
  t.not(other.keys[0], id, 'another customer, another key');
  const merged = await writeBatch(s, [identify(user, later, 4)]);
  t.match(merged.changes, [{ kind: 'MERGED', customerId: id, mergedFrom: [later] }]);
  t.same(merged.keys, [id], "a merge publishes under the survivor's key");
});

t.test('two different known userIds are never merged: refused, counted, both kept', async (t) => {
  const [u1, u2, anon] = [randomName('user'), randomName('user'), randomName('anon')];
  await writeBatch(s, [identify(u1, anon, 1)]);
  const c2 = await sinkCustomer(s.db, u2, 'user_id');
  const before = await counterValue(s.registry, 'identities_merges_refused_total', { reason: 'both-known' });
  const { counts } = await writeBatch(s, [identify(u2, anon, 2, { email: 'u2@x' })]);
  t.same(counts.refused, { 'both-known': 1 });
  t.equal(
    await counterValue(s.registry, 'identities_merges_refused_total', { reason: 'both-known' }),
    before + 1,
  );
  t.equal((await customerOf(s.db, anon))!.customer_id, u1, 'the anonymous id stays with the first user');
  t.equal((await customerOf(s.db, u2))!.id, c2);
  t.equal((await customerOf(s.db, u2))!.email, 'u2@x', "the record's traits go to its userId's profile");

  // An alias from one known user to a new userId is the same refusal: the id belongs to u1.
  const u3 = randomName('user');
  const r = await writeBatch(s, [alias(u1, u3, 3)]);
  t.same(r.counts.refused, { 'other-id-belongs-to-another-user': 1 });
  t.not((await customerOf(s.db, u3))!.id, (await customerOf(s.db, u1))!.id);
});

t.test('chains resolve to the end: every identity of a merged customer is re-pointed', async (t) => {
  // a is aliased to b (both anonymous so far: b survives), then b is identified as user c.
  const [a, b, c] = [randomName('a'), randomName('b'), randomName('user')];
  const ca = await sinkCustomer(s.db, a, 'anonymous_id');
  const cb = await sinkCustomer(s.db, b, 'anonymous_id');
  const cc = await sinkCustomer(s.db, c, 'user_id');
  await insertEvent(s.db, ca);
  await insertEvent(s.db, cb);
  await writeBatch(s, [alias(a, b, 1)]);
  t.equal((await customerOf(s.db, a))!.id, cb, 'a -> b');
  await writeBatch(s, [identify(c, b, 2)]);
  for (const id of [a, b, c])
    t.equal((await customerOf(s.db, id))!.id, cc, `${id.split('-')[0]} resolves to c`);
  t.equal((await rowsOf(s.db, cc)).events, 2);
  t.same((await customerOf(s.db, c))!.external_ids, { user_id: [c], anonymous_id: [a, b].sort() });
});

t.test('the same chain in the other order converges to the same customer', async (t) => {
  const [a, b, c] = [randomName('a'), randomName('b'), randomName('user')];
  const ca = await sinkCustomer(s.db, a, 'anonymous_id');
  const cb = await sinkCustomer(s.db, b, 'anonymous_id');
  const cc = await sinkCustomer(s.db, c, 'user_id');
  await insertEvent(s.db, ca);
  await insertEvent(s.db, cb);
  await writeBatch(s, [identify(c, b, 2)]);
  await writeBatch(s, [alias(a, b, 1)]);
  for (const id of [a, b, c]) t.equal((await customerOf(s.db, id))!.id, cc);
  t.equal((await rowsOf(s.db, cc)).events, 2);
});

t.test('within one batch: identify, then a merge, then more traits for the anonymous id', async (t) => {
  const [user, anon] = [randomName('user'), randomName('anon')];
  await sinkCustomer(s.db, user, 'user_id');
  const { changes } = await writeBatch(s, [
    identify(null, anon, 1, { email: 'first@x' }),
    identify(user, anon, 2),
    identify(null, anon, 3, { plan: 'late' }),
  ]);
  const c = (await customerOf(s.db, user))!;
  t.equal(c.email, 'first@x');
  t.same(c.custom_attributes, { plan: 'late' });
  t.equal(changes.length, 1, 'one change for the one customer left');
  t.match(changes[0], { kind: 'MERGED', mergedFrom: [anon] });
});

t.test('replaying a merge is a no-op', async (t) => {
  const [user, anon] = [randomName('user'), randomName('anon')];
  await sinkCustomer(s.db, user, 'user_id');
  await sinkCustomer(s.db, anon, 'anonymous_id');
  const records = [identify(user, anon, 1, { email: 'x@x' })];
  await writeBatch(s, records);
  const before = await customerOf(s.db, user);
  const again = await writeBatch(s, records);
  t.same(again.counts.merges, {});
  t.same(again.changes, []);
  t.same(await customerOf(s.db, user), before);
});
