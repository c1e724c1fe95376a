/**
 * The process, not the functions: kill -9 the sink while a batch transaction is open (after its
 * COPY, before COMMIT), restart it, and the table holds every event exactly once. Then SIGTERM
 * stops it cleanly with exit code 0.
 */
import t from 'tap';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { config, randomName, waitFor } from '../../shared/test/support.js';
import { privateTopic, produce, testEvents } from './support.js';
import { startSink } from '../../shared/test/processor-process.js';

const db = createDb({
  connectionString: config.databaseUrl,
  service: 'crash-test',
  registry: createRegistry('crash-test'),
});
t.teardown(() => db.end());

const sinkOn = (topic: string, group: string, extraEnv: Record<string, string> = {}) =>
  startSink({ EVENT_SINK_TOPIC: topic, EVENT_SINK_GROUP: group, EVENT_SINK_MAX_BATCH: '100', ...extraEnv });

const countRows = async (ids: string[]) =>
  (
    await db.query<{ n: number; d: number }>(
      'test.count',
      'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM customer_events WHERE message_id = ANY($1)',
      [ids],
    )
  ).rows[0]!;

t.test('kill -9 between COPY and COMMIT, restart: exactly N rows', async (t) => {
  const N = 1000;
  const topic = await privateTopic(1);
  const group = randomName('crash-group');
  const events = testEvents(N);
  const ids = events.map((e) => e.messageId);
  await produce(topic, events);

  const first = sinkOn(topic, group, { FAULT_PAUSE_BEFORE_COMMIT_MS: '1500' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  // Once a batch has committed, wait for the next transaction to have written its rows and offset:
  // it now waits to COMMIT.
  await waitFor(
    'a sink transaction open after its COPY',
    async () => {
      if ((await countRows(ids)).n === 0) return false;
      const { rows } = await db.query<{ n: number }>(
        'test.open-tx',
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE application_name = $1 AND state = 'idle in transaction' AND query LIKE '%offsets.store%'`,
        [`event-sink/${first.child.pid}`],
      );
      return rows[0]!.n > 0;
    },
    60_000,
    20,
  );
  first.child.kill('SIGKILL');
  t.match(await first.exit, { signal: 'SIGKILL' });
  const atCrash = await countRows(ids);
  t.ok(atCrash.n > 0 && atCrash.n < N, `crashed mid-stream with ${atCrash.n} of ${N} rows committed`);
  t.equal(atCrash.n % 100, 0, 'only whole batches are visible');

  const second = sinkOn(topic, group);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const done = await waitFor(
    'all rows',
    async () => {
      const c = await countRows(ids);
      return c.n >= N ? c : undefined;
    },
    60_000,
  );
  // Give a duplicate, if there were one, the time to show up.
  await new Promise((r) => setTimeout(r, 1000));
  const final = await countRows(ids);
  t.equal(final.n, N, 'exactly N rows');
  t.equal(final.d, N, 'no message twice');
  t.equal(done.n, N);

  second.child.kill('SIGTERM');
  const stop = await second.exit;
  t.equal(stop.code, 0, 'SIGTERM stops it cleanly');
  const { rows } = await db.query<{ next_offset: number }>(
    'test.offset',
    'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
    [group, topic],
  );
  t.equal(Number(rows[0]!.next_offset), N, 'the stored offset is past every record');
});

t.test('SIGTERM while a batch transaction is open: that batch commits, the process exits 0', async (t) => {
  const N = 500;
  const topic = await privateTopic(1);
  const group = randomName('term-group');
  const events = testEvents(N);
  const ids = events.map((e) => e.messageId);
  await produce(topic, events);

  const first = sinkOn(topic, group, { FAULT_PAUSE_BEFORE_COMMIT_MS: '1500' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  let before = 0;
  await waitFor(
    'a sink transaction open after its COPY',
    async () => {
      const { rows } = await db.query<{ n: number }>(
        'test.open-tx',
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE application_name = $1 AND state = 'idle in transaction' AND query LIKE '%offsets.store%'`,
        [`event-sink/${first.child.pid}`],
      );
      if (rows[0]!.n === 0) return false;
      before = (await countRows(ids)).n;
      return true;
    },
    60_000,
    20,
  );
  first.child.kill('SIGTERM');
  const stop = await first.exit;
  t.equal(stop.code, 0, 'a clean exit, not the shutdown timeout');
  const after = await countRows(ids);
  t.ok(after.n > before, `the open batch committed on the way out (${before} -> ${after.n} rows)`);
  t.equal(after.n % 100, 0, 'whole batches only');
  const offset = await db.query<{ next_offset: number }>(
    'test.offset',
    'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
    [group, topic],
  );
  t.equal(Number(offset.rows[0]!.next_offset), after.n, 'the stored offset is where the rows end');

  const second = sinkOn(topic, group);
  t.teardown(() => void second.child.kill('SIGKILL'));
  await waitFor('all rows', async () => (await countRows(ids)).n >= N || undefined, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  const final = await countRows(ids);
  t.same(final, { n: N, d: N }, 'the restart applied the rest, nothing twice');
  await second.stop();
});
