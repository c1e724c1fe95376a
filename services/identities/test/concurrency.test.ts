/**
 * A merge racing the event sink, on two connections, in both orders: the event inserted for the
 * anonymous customer ends on the survivor and is never lost to the ON DELETE CASCADE. And a merge
 * racing another writer of a one-row-per-customer table: retried, never a dead letter.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { isRetryable } from '../../shared/src/errors.js';
import type { Db, Queryable } from '../../shared/src/pg/gateway.js';
import { randomName, waitFor } from '../../shared/test/support.js';
import { capturingOutbox, customerOf, input, setup, lockWaitIn } from './support.js';
import { insertEvent, rowsOf, sinkCustomer } from './db-fixtures.js';
import type { Decoded } from '../../shared/src/pipeline/processor.js';
import type { IdentityInput } from '../src/mapping/identity-input.js';
import type { OutboxRecord } from '../../shared/src/pipeline/outbox.js';

const s = await setup(t, 8);
await s.db.query('identities-test.partition', 'SELECT ensure_customer_events_partition(now())');

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

/** The sink's transaction: resolve the id, insert the event (COPY in the sink), then `hold`. */
async function sinkInsert(db: Db, externalId: string, hold: Promise<void> = Promise.resolve()) {
  await db.transaction('identities-test.sink', async (tx) => {
    const id = await sinkCustomer(tx, externalId, 'anonymous_id');
    await insertEvent(tx, id);
    await hold;
  });
}

/** As the runtime does with a retryable failure: the same batch again, resolving anew. */
async function withRetries(fn: () => Promise<unknown>, failures: unknown[] = []): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return attempt;
    } catch (err) {
      failures.push(err);
      if (!isRetryable(err) || attempt >= 5) throw err;
    }
  }
}

let offset = 0;
const record = (value: IdentityInput): Decoded<IdentityInput> => ({
  value,
  message: { offset: String(offset), value: null } as never,
  topic: 'cdp.identities',
  partition: 0,
  offset: offset++,
});

/** The identities processor's batch transaction, held open after its write until `hold`. */
async function identify(
  userId: string,
  anonymousId: string,
  hold: Promise<void> = Promise.resolve(),
  wrote?: () => void,
) {
  const out: OutboxRecord[] = [];
  const value = input({ userId, anonymousId, messageId: randomUUID(), traits: { email: 'e@x' } });
  return s.db.transaction('identities-test.identify', async (tx) => {
    const counts = await s.def.write(tx, [record(value)], { outbox: capturingOutbox(tx, out) });
    wrote?.();
    await hold;
    return counts;
  });
}

const blockedIn = (tag: string) => lockWaitIn(s.db, tag);

for (const path of ['merge', 'adopt'] as const) {
  t.test(`${path}: the sink inserted first and holds its transaction open`, async (t) => {
    const [user, anon] = [randomName('user'), randomName('anon')];
    if (path === 'merge') await sinkCustomer(s.db, user, 'user_id');
    const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id');
    const sinkHold = gate();
    const sinkDone = sinkInsert(s.db, anon, sinkHold.opened);
    await waitFor('the sink has inserted', async () => {
      const { rows } = await s.db.query<{ n: number }>(
        'identities-test.locked',
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%identities-test.event */%' AND state = 'idle in transaction'`,
      );
      return rows[0]!.n > 0;
    });
    const merged = identify(user, anon);
    // The batch's FOR UPDATE of the customers it names (taken before any work) waits for the sink's
    // key-share lock.
    await blockedIn('identities.lock-named');
    sinkHold.open();
    await sinkDone;
    const counts = await merged;
    t.same(counts.merges, { [path === 'merge' ? 'merged' : 'adopted']: 1 });
    const survivor = (await customerOf(s.db, user))!;
    t.equal((await rowsOf(s.db, survivor.id as string)).events, 1, 'the event is on the survivor');
    if (path === 'adopt') t.equal(survivor.id, anonymous, 'adopted: the same customer, renamed');
  });

  t.test(`${path}: the merge locked first and holds its transaction open`, async (t) => {
    const [user, anon] = [randomName('user'), randomName('anon')];
    if (path === 'merge') await sinkCustomer(s.db, user, 'user_id');
    await sinkCustomer(s.db, anon, 'anonymous_id');
    const mergeHold = gate();
    const wrote = gate();
    const merged = identify(user, anon, mergeHold.opened, wrote.open);
    await wrote.opened;
    // The sink resolves the anonymous id to the customer the merge is about to delete (the merge
    // has not committed), and its insert waits for the merge's lock.
    const sinkDone = withRetries(() => sinkInsert(s.db, anon));
    await blockedIn('identities-test.event');
    mergeHold.open();
    await merged;
    const attempts = await sinkDone;
    if (path === 'merge') t.equal(attempts, 2, 'the sink failed once (23503) and retried, resolving anew');
    else t.equal(attempts, 1, 'a rename deletes nothing: the insert just waited');
    const survivor = (await customerOf(s.db, user))!;
    t.equal((await rowsOf(s.db, survivor.id as string)).events, 1, 'the event is on the survivor');
    t.equal((await customerOf(s.db, anon))!.id, survivor.id);
  });
}

t.test(
  'the userId is created by the sink while the identify renames: the rename yields to a merge',
  async (t) => {
    const [user, anon] = [randomName('user'), randomName('anon')];
    const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id');
    await insertEvent(s.db, anonymous);
    const sinkHold = gate();
    let created = '';
    const sinkDone = s.db.transaction('identities-test.sink-user', async (tx) => {
      created = await sinkCustomer(tx, user, 'user_id');
      await insertEvent(tx, created);
      await sinkHold.opened;
    });
    await waitFor('the sink created the user', () => created !== '');
    const merged = identify(user, anon);
    await blockedIn('identities.adopt.rename'); // the unique index waits for the sink's insert
    sinkHold.open();
    await sinkDone;
    const counts = await merged;
    t.same(counts.merges, { merged: 1 }, 'the rename failed on the unique index, undone to its savepoint');
    t.equal((await customerOf(s.db, user))!.id, created);
    t.equal((await customerOf(s.db, anon))!.id, created);
    t.equal((await rowsOf(s.db, created)).events, 2);
  },
);

t.test(
  'a membership inserted for the survivor while a merge of it starts: the merge waits, then combines',
  async (t) => {
    const [user, anon, group] = [randomName('user'), randomName('anon'), randomName('group')];
    const known = await sinkCustomer(s.db, user, 'user_id');
    const anonymous = await sinkCustomer(s.db, anon, 'anonymous_id');
    const [earlier, later] = [new Date(Date.now() - 7_200_000), new Date(Date.now() - 3_600_000)];
    await s.db.query(
      'identities-test.group',
      'INSERT INTO customer_groups (group_id, first_seen_at) VALUES ($1, $2)',
      [group, earlier],
    );
    const join = (tx: Queryable, customer: string, at: Date) =>
      tx.query(
        'identities-test.join',
        'INSERT INTO customer_group_memberships (customer_id, group_id, joined_at) VALUES ($1, $2, $3)',
        [customer, group, at],
      );
    await join(s.db, anonymous, earlier);

    // Another writer (it takes only the key-share lock of its foreign key, as every inserter does)
    // adds the survivor's membership and holds its transaction open.
    const otherHold = gate();
    let inserted = false;
    const otherDone = s.db.transaction('identities-test.other-writer', async (tx) => {
      await join(tx, known, later);
      inserted = true;
      await otherHold.opened;
    });
    await waitFor('the other writer has inserted', () => inserted);

    // The batch locks the customers it names FOR UPDATE before any work, so it waits for the
    // writer's key-share lock; once that commits, the merge sees the survivor's membership and
    // combines the two at once (before that lock, the move met the uncommitted row and the batch
    // failed with 23505 and was retried).
    const failures: unknown[] = [];
    const merged = withRetries(() => identify(user, anon), failures);
    await blockedIn('identities.lock-named');
    otherHold.open();
    await otherDone;
    t.equal(await merged, 1, 'no retry needed');
    t.same(failures, []);
    const { rows } = await s.db.query<{ customer_id: string; joined_at: Date }>(
      'identities-test.members',
      'SELECT customer_id, joined_at FROM customer_group_memberships WHERE group_id = $1',
      [group],
    );
    t.same(
      rows.map((r) => [r.customer_id, r.joined_at.getTime()]),
      [[known, earlier.getTime()]],
      'one membership, on the survivor, joined at the earlier time',
    );
    t.equal((await customerOf(s.db, anon))!.id, known);
  },
);
