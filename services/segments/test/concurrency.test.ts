/**
 * Full evaluations (segment edits, the hourly refresh's function) while incremental batches insert
 * and remove memberships of the same segments, concurrently, on a private PostgreSQL: nothing
 * deadlocks or fails, and afterwards memberships equal the criteria.
 */
import t from 'tap';
import { membershipDifferences } from '../../shared/src/segments/check.js';
import { Topics } from '../../shared/src/topics.js';
import { batchOf, harness } from '../../shared/test/processor-harness.js';
import { logger, randomName } from '../../shared/test/support.js';
import { evaluatePendingSegments } from '../src/evaluate.js';
import { changeEncoder, codec, definition, makeSegment, testFeed, usePrivatePostgres } from './support.js';

const pg = usePrivatePostgres(t);
const CUSTOMERS = 200;

t.test('evaluations and batches at once: no deadlock, invariant 3 after', { timeout: 120_000 }, async (t) => {
  const db = pg.db;
  const prefix = `${randomName('test-segc')}.`;
  const topic = prefix + Topics.customerChanges;
  const feed = await testFeed(prefix);
  const encode = await changeEncoder(prefix);
  const { rows } = await db.query<{ id: string }>(
    'test.customers',
    `INSERT INTO customers (customer_id, first_seen_at, total_page_views)
     SELECT 'c' || i, now(), i % 10 FROM generate_series(1, $1) AS i RETURNING id`,
    [CUSTOMERS],
  );
  const ids = rows.map((r) => r.id);
  const threshold = (n: number) => ({
    conditions: [{ field: 'total_page_views', operator: '>=', value: n }],
  });
  const segments = [
    await makeSegment(db, { name: 'a', criteria: threshold(3) }),
    await makeSegment(db, { name: 'b', criteria: threshold(6) }),
  ];
  const evaluate = () =>
    evaluatePendingSegments({
      db,
      databaseUrl: pg.url,
      feed,
      queryTimeoutMs: 10_000,
      now: () => new Date(),
      logger,
    });
  await evaluate();
  const h = await harness(
    definition(db, prefix, feed, () => new Date()),
    { db, codec, publish: async () => {} },
  );

  const until = Date.now() + 6_000;
  let offset = 0;
  let batches = 0;
  let evaluations = 0;
  const batchLoop = async () => {
    while (Date.now() < until) {
      const chosen = ids.filter(() => Math.random() < 0.2);
      await db.query(
        'test.move',
        'UPDATE customers SET total_page_views = (total_page_views + 1 + floor(random() * 4)::int) % 10 WHERE id = ANY ($1)',
        [chosen],
      );
      await h.applier.handle(
        batchOf(
          topic,
          chosen.map((id) => encode(id)),
          offset,
        ),
      );
      offset += chosen.length;
      batches++;
    }
  };
  const evaluationLoop = async () => {
    for (let n = 0; Date.now() < until; n++) {
      await db.query('test.edit', 'UPDATE segments SET criteria = $2 WHERE id = $1', [
        segments[n % 2],
        JSON.stringify(threshold(2 + (n % 6))),
      ]);
      await evaluate();
      await db.transaction('test.refresh', (tx) =>
        tx.query('test.refresh', 'SELECT refresh_segment_memberships($1)', [segments[(n + 1) % 2]]),
      );
      evaluations++;
    }
  };
  await Promise.all([batchLoop(), evaluationLoop()]);
  t.ok(batches > 5 && evaluations > 5, `${batches} batches and ${evaluations} evaluations ran at once`);
  t.same(await membershipDifferences(db, new Date()), [], 'memberships equal the criteria');
});
