/**
 * The backstop's search, over a commit step that behaves like a PostgreSQL transaction: all of it
 * or none of it, refused with a data-class SQLSTATE when any of its records is bad. (The same code
 * against the real database: services/event-sink/test/sink.test.ts.)
 */
import t from 'tap';
import fc from 'fast-check';
import { commitIsolatingBadRecords } from '../src/pipeline/isolate-bad-records.js';

interface Item {
  offset: number;
  bad: boolean;
}

function ledger(failAfterCommits = Infinity) {
  const state = {
    committed: [] as number[],
    storedOffset: 0,
    deadLettered: [] as number[],
    commits: 0,
    attempts: 0,
  };
  return {
    state,
    steps: {
      offsetOf: (i: Item) => i.offset,
      async commit(items: Item[], through: number) {
        state.attempts++;
        if (state.commits >= failAfterCommits)
          throw Object.assign(new Error('connection lost'), { code: '08006' });
        const todo = items.filter((i) => i.offset >= state.storedOffset);
        if (todo.some((i) => i.bad))
          throw Object.assign(new Error('invalid byte sequence'), { code: '22021' });
        state.commits++;
        state.committed.push(...todo.map((i) => i.offset));
        state.storedOffset = Math.max(state.storedOffset, through + 1);
      },
      async deadLetter(i: Item) {
        state.deadLettered.push(i.offset);
      },
    },
  };
}

/** Batches in offset order, with gaps where records were dropped before the write. */
const batches = fc.array(fc.tuple(fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 200 }).map((rows) => {
  let offset = 1000;
  return rows.map(([bad, gap]) => ({ offset: (offset += 1 + gap), bad }));
});

t.test(
  'every good record commits once, every bad one is dead-lettered, the offset passes the batch',
  async () => {
    fc.assert(
      fc.asyncProperty(batches, async (items) => {
        const { state, steps } = ledger();
        const through = items[items.length - 1]!.offset + 3; // records dropped before the write
        const n = await commitIsolatingBadRecords(items, through, steps);
        const good = items.filter((i) => !i.bad).map((i) => i.offset);
        const bad = items.filter((i) => i.bad).map((i) => i.offset);
        return (
          n === bad.length &&
          JSON.stringify(state.committed) === JSON.stringify(good) &&
          JSON.stringify(state.deadLettered) === JSON.stringify(bad) &&
          state.storedOffset === through + 1
        );
      }),
      { seed: 20261201, numRuns: 300 },
    );
  },
);

t.test('a good batch is one commit', async (t) => {
  const { state, steps } = ledger();
  const items = Array.from({ length: 500 }, (_, i) => ({ offset: i, bad: false }));
  t.equal(await commitIsolatingBadRecords(items, 499, steps), 0);
  t.equal(state.commits, 1);
  t.equal(state.attempts, 1);
});

t.test('one bad record in 1024 costs about 2·log2(n) commits', async (t) => {
  const { state, steps } = ledger();
  const items = Array.from({ length: 1024 }, (_, i) => ({ offset: i, bad: i === 777 }));
  t.equal(await commitIsolatingBadRecords(items, 1023, steps), 1);
  // Each level of the search tries two halves; the first try is the whole batch.
  t.ok(state.attempts <= 2 * Math.log2(1024) + 2, `${state.attempts} transactions tried`);
});

t.test(
  'a retryable error part-way propagates, and the retried batch skips the committed prefix',
  async (t) => {
    const items = Array.from({ length: 64 }, (_, i) => ({ offset: i, bad: i === 5 || i === 50 }));
    const { state, steps } = ledger(3);
    await t.rejects(commitIsolatingBadRecords(items, 63, steps), { code: '08006' });
    const prefix = [...state.committed];
    t.ok(prefix.length > 0, 'a prefix committed before the outage');
    const retry = ledger();
    Object.assign(retry.state, { committed: [...prefix], storedOffset: state.storedOffset });
    await commitIsolatingBadRecords(items, 63, retry.steps);
    t.same(
      retry.state.committed,
      items.filter((i) => !i.bad).map((i) => i.offset),
      'each good record exactly once over both attempts',
    );
  },
);

t.test('errors that are not about the data propagate untouched', async (t) => {
  const boom = new TypeError('a bug');
  await t.rejects(
    commitIsolatingBadRecords([{ offset: 0 }], 0, {
      offsetOf: (i) => i.offset,
      commit: async () => {
        throw boom;
      },
      deadLetter: async () => {
        t.fail('nothing is dead-lettered for a bug');
      },
    }),
    boom,
  );
});
