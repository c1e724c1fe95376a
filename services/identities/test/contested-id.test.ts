/**
 * One anonymous id claimed by two users: identify(u1, a) and identify(u2, a), as two partitions
 * would deliver them. The rule is "first processed wins": whichever record is applied first links
 * (or merges, or adopts) `a`; the other is refused and counted, whatever their event times say.
 * In either order, one after the other or racing on two connections: exactly one user has `a`,
 * and every event is on exactly one customer.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import type { OutboxRecord } from '../../shared/src/pipeline/outbox.js';
import type { Decoded } from '../../shared/src/pipeline/processor.js';
import { randomName } from '../../shared/test/support.js';
import type { WriteCounts } from '../src/batch-state.js';
import type { IdentityInput } from '../src/mapping/identity-input.js';
import { insertEvent, rowsOf, sinkCustomer } from './db-fixtures.js';
import {
  capturingOutbox,
  counterValue,
  customerOf,
  input,
  setup,
  writeBatch,
  lockWaitIn,
} from './support.js';

const s = await setup(t, 8);
await s.db.query('identities-test.partition', 'SELECT ensure_customer_events_partition(now())');

const base = Date.now() - 3_600_000;
const identify = (userId: string, anonymousId: string, minute: number) =>
  input({
    userId,
    anonymousId,
    messageId: randomUUID(),
    timestamp: base + minute * 60_000,
    receivedAt: base + minute * 60_000,
    traits: { email: `${userId}@x` },
  });

let offset = 0;
const decoded = (value: IdentityInput): Decoded<IdentityInput> => ({
  value,
  message: { offset: String(offset), value: null } as never,
  topic: 'cdp.identities',
  partition: 0,
  offset: offset++,
});

/** One batch in its own transaction, held open after its write until `hold`; counted on commit. */
async function heldBatch(
  value: IdentityInput,
  hold: Promise<void> = Promise.resolve(),
  wrote?: () => void,
): Promise<WriteCounts> {
  const out: OutboxRecord[] = [];
  const counts = await s.db.transaction('identities-test.contested', async (tx) => {
    const c = await s.def.write(tx, [decoded(value)], { outbox: capturingOutbox(tx, out) });
    wrote?.();
    await hold;
    return c;
  });
  s.def.committed?.([counts]);
  await s.db.query('identities-test.outbox-cleanup', 'DELETE FROM outbox WHERE change_id = ANY($1::uuid[])', [
    out.map((r) => r.changeId),
  ]);
  return counts;
}

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

const blockedIn = (tag: string) => lockWaitIn(s.db, tag);

for (const users of ['new', 'known'] as const) {
  // New users: the first adopts the anonymous profile; known users: the first merges it.
  const won = users === 'new' ? 'adopted' : 'merged';
  const reason = users === 'new' ? 'other-id-belongs-to-another-user' : 'both-known';
  for (const mode of ['one after the other', 'racing'] as const) {
    for (const firstIsU1 of [true, false]) {
      t.test(`${users} users, ${mode}, ${firstIsU1 ? 'u1' : 'u2'} first: first processed wins`, async (t) => {
        const [u1, u2, a] = [randomName('u1'), randomName('u2'), randomName('anon')];
        // u1's identify is the earlier event; event time does not decide, processing order does.
        const [first, second] = firstIsU1
          ? [identify(u1, a, 1), identify(u2, a, 2)]
          : [identify(u2, a, 2), identify(u1, a, 1)];
        const [winner, loser] = [first.userId!, second.userId!];

        const anonymous = await sinkCustomer(s.db, a, 'anonymous_id');
        for (let i = 0; i < 2; i++) await insertEvent(s.db, anonymous);
        if (users === 'known') {
          for (const u of [u1, u2]) await insertEvent(s.db, await sinkCustomer(s.db, u, 'user_id'));
        }
        const refusedBefore = await counterValue(s.registry, 'identities_merges_refused_total', { reason });

        let counts: [WriteCounts, WriteCounts];
        if (mode === 'one after the other') {
          counts = [(await writeBatch(s, [first])).counts, (await writeBatch(s, [second])).counts];
        } else {
          // The first holds its transaction open after its write; the second waits on its lock of
          // the anonymous customer, then finds `a` taken.
          const hold = gate();
          const wrote = gate();
          const firstDone = heldBatch(first, hold.opened, wrote.open);
          await wrote.opened;
          const secondDone = heldBatch(second);
          await blockedIn('identities.lock-named');
          hold.open();
          counts = [await firstDone, await secondDone];
        }

        t.same(counts[0].merges, { [won]: 1 });
        t.same(counts[0].refused, {});
        t.same(counts[1].merges, {});
        t.same(counts[1].refused, { [reason]: 1 }, 'the other link is refused');
        t.equal(
          await counterValue(s.registry, 'identities_merges_refused_total', { reason }),
          refusedBefore + 1,
          'and counted',
        );

        const w = (await customerOf(s.db, winner))!;
        const l = (await customerOf(s.db, loser))!;
        t.not(w.id, l.id, 'two customers');
        t.equal((await customerOf(s.db, a))!.id, w.id, `${a} resolves to the first processed user`);
        t.same(w.external_ids, { user_id: [winner], anonymous_id: [a] }, 'only the winner has it');
        t.same(l.external_ids, { user_id: [loser] });
        t.equal(l.email, `${loser}@x`, "the refused record's traits go to its own userId");
        const own = users === 'known' ? 1 : 0;
        t.equal(
          (await rowsOf(s.db, w.id as string)).events,
          2 + own,
          "the anonymous events, once, on the winner's",
        );
        t.equal((await rowsOf(s.db, l.id as string)).events, own, 'the loser keeps only its own');
        if (users === 'new') t.equal(w.id, anonymous, 'adopted: the anonymous profile itself');
        // An anonymous event processed afterwards lands on the winner as well.
        t.equal(await sinkCustomer(s.db, a, 'anonymous_id'), w.id);
      });
    }
  }
}
