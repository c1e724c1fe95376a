import t from 'tap';
import { Registry } from 'prom-client';
import { createDb } from '../src/pg/gateway.js';
import { pruneDedupOnce } from '../src/pipeline/dedup-pruner.js';
import { config, randomName, waitFor } from './support.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'pruner-test',
  registry: new Registry(),
});
t.teardown(() => db.end());

t.test('the pruner deletes only entries past the retention, in slices', async (t) => {
  const scope = randomName('s').slice(0, 40);
  const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const insert = (messageIds: string[], age: string) =>
    db.query(
      'test.dedup-insert',
      `INSERT INTO message_dedup (scope, source_key, message_id, seen_at)
       SELECT $1, 'src', m, now() - $3::interval FROM unnest($2::text[]) AS m`,
      [scope, messageIds, age],
    );
  await insert(ids(7, 'old'), '8 days');
  await insert(ids(3, 'edge'), '6 days 23 hours');
  await insert(ids(4, 'new'), '1 minute');
  t.teardown(() => db.query('test.dedup-clean', 'DELETE FROM message_dedup WHERE scope = $1', [scope]));

  // A running processor's pruner may hold the lock at this moment (then a pass does nothing): try
  // until a pass of our own ran.
  const { deleted, slices } = await waitFor(
    'a pruning pass of our own',
    async () => {
      const pass = await pruneDedupOnce(db, 7, 2);
      return pass.slices > 0 && pass;
    },
    10_000,
    50,
  );
  t.ok(deleted >= 7, `deleted ${deleted} (ours are 7; other expired entries of the database go too)`);
  t.ok(slices >= 4, `in slices of 2 rows (${slices})`);
  const { rows } = await db.query<{ message_id: string }>(
    'test.dedup-left',
    'SELECT message_id FROM message_dedup WHERE scope = $1 ORDER BY message_id',
    [scope],
  );
  t.same(
    rows.map((r) => r.message_id),
    [...ids(3, 'edge'), ...ids(4, 'new')].sort(),
    'entries younger than the retention stay',
  );
});

t.test('one pruner at a time per database: a second one stands aside', async (t) => {
  // Hold the pruning lock in another transaction, as a running pruner does.
  const held = db.transaction('test.hold-lock', async (tx) => {
    await tx.query('test.lock', 'SELECT pg_advisory_xact_lock($1)', [0x6364_7002]);
    await new Promise((r) => setTimeout(r, 500));
  });
  await new Promise((r) => setTimeout(r, 100));
  t.same(await pruneDedupOnce(db, 7), { deleted: 0, slices: 0 }, 'it did nothing while the lock was held');
  await held;
});
