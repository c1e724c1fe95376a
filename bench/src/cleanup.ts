/**
 * The bench leaves nothing behind: every customer (`cdpbench-<tag>-...`, the refresh phase's
 * `cdpbench-<tag>-r-<n>` too), order, event row, dedup entry, stored offset and source it creates
 * carries BENCH_PREFIX (a customer's events, sessions and activity days go with it by cascade),
 * every topic, subject and consumer group BENCH_TOPIC_PREFIX or BENCH_PREFIX, and all of it is
 * deleted at the end of the run; whatever a run that was killed left behind is deleted at the
 * start of the next one. The bench's traffic goes only to its own topics (TOPIC_PREFIX), so no
 * development processor ever ingests it.
 */
import type { Db } from '../../services/shared/src/pg/gateway.js';
import type { Kafka } from '../../services/shared/src/kafka/client.js';
import { BENCH_PREFIX, BENCH_TOPIC_PREFIX } from './context.js';

const LIKE = `${BENCH_PREFIX}%`;

/** Deletes everything any bench run left in PostgreSQL. `keepSource` keeps this run's source. */
export async function deleteBenchData(db: Db, keepSource?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const run = async (name: string, sql: string, values: unknown[] = []) => {
    counts[name] = (await db.query(`bench.clean-${name}`, sql, values)).rowCount ?? 0;
  };
  const ofBench = 'SELECT id FROM customers WHERE customer_id LIKE $1';
  // Orders, redemptions and campaign sends reference their customer without a cascade; the order
  // items go with their order.
  await run(
    'redemptions',
    `DELETE FROM promotion_redemptions WHERE customer_id IN (${ofBench})
       OR order_id IN (SELECT id FROM customer_orders WHERE order_id LIKE $1)`,
    [LIKE],
  );
  await run('campaign_sends', `DELETE FROM campaign_sends WHERE customer_id IN (${ofBench})`, [LIKE]);
  await run('orders', `DELETE FROM customer_orders WHERE order_id LIKE $1 OR customer_id IN (${ofBench})`, [
    LIKE,
  ]);
  await run('campaign_conversions', 'DELETE FROM campaign_conversions WHERE order_id LIKE $1', [LIKE]);
  // The e2e phase's segments (their memberships by cascade), before their owner.
  await run('segments', 'DELETE FROM segments WHERE name LIKE $1', [LIKE]);
  // Deleting the customers deletes their events, identities, memberships, campaign events and
  // suppressions (ON DELETE CASCADE).
  await run('customers', 'DELETE FROM customers WHERE customer_id LIKE $1', [LIKE]);
  // The exits those cascades journaled, which the development segments processor would otherwise
  // publish on cdp.segment-changes: transitions of segments or customers that no longer exist.
  await run(
    'segment_transitions',
    `DELETE FROM segment_membership_changes j
     WHERE NOT EXISTS (SELECT 1 FROM segments s WHERE s.id = j.segment_id)
        OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = j.customer_id)`,
  );
  // The run's campaigns, with their sends, events and counters (cascade), then their owner.
  await run('campaigns', 'DELETE FROM campaigns WHERE name LIKE $1', [LIKE]);
  await run('platform_users', 'DELETE FROM platform_users WHERE email LIKE $1', [LIKE]);
  await run('outbox', 'DELETE FROM outbox WHERE topic LIKE $1', [`${BENCH_TOPIC_PREFIX}%`]);
  await run(
    'dedup',
    `DELETE FROM message_dedup WHERE source_key LIKE $1
       OR source_key IN (SELECT id::text FROM sources WHERE name LIKE $1)`,
    [LIKE],
  );
  await run('offsets', 'DELETE FROM consumer_offsets WHERE consumer_group LIKE $1 OR topic LIKE $2', [
    LIKE,
    `${BENCH_TOPIC_PREFIX}%`,
  ]);
  await run('sources', 'DELETE FROM sources WHERE name LIKE $1 AND name IS DISTINCT FROM $2', [
    LIKE,
    keepSource ?? null,
  ]);
  return counts;
}

/**
 * Deletes the bench customers whose customer_id is LIKE `like` (a pattern under BENCH_PREFIX, e.g.
 * one phase's) and their orders, which do not cascade; then vacuums both tables, so a phase's
 * 100,000 dead rows do not weigh on the phases and the development work after it.
 */
export async function deleteCustomersLike(
  db: Db,
  like: string,
): Promise<{ orders: number; customers: number }> {
  if (!like.startsWith(BENCH_PREFIX)) throw new Error(`not a bench pattern: ${like}`);
  const ofThem = 'SELECT id FROM customers WHERE customer_id LIKE $1';
  const orders = await db.query(
    'bench.clean-phase-orders',
    `DELETE FROM customer_orders WHERE customer_id IN (${ofThem})`,
    [like],
  );
  const customers = await db.query(
    'bench.clean-phase-customers',
    'DELETE FROM customers WHERE customer_id LIKE $1',
    [like],
  );
  await db.query('bench.vacuum-customers', 'VACUUM (ANALYZE) customers, customer_orders');
  return { orders: orders.rowCount ?? 0, customers: customers.rowCount ?? 0 };
}

export async function vacuumEvents(db: Db): Promise<void> {
  await db.query('bench.vacuum', 'VACUUM (ANALYZE) customer_events');
}

/**
 * What autovacuum does in any deployment, for machines that run without it (this one does): the
 * tables the pipeline writes most, vacuumed and analyzed. Without it a run starts on the
 * statistics of an almost empty `customers` (the last run's cleanup), and the processors' cached
 * generic plans scan a table that fills with dead rows as the run goes (plans are made again
 * after an ANALYZE).
 */
export async function vacuumHotTables(db: Db): Promise<void> {
  await db.query(
    'bench.vacuum-hot',
    `VACUUM (ANALYZE) customers, customer_orders, customer_events, customer_sessions,
       customer_activity_days, outbox, message_dedup, consumer_offsets, segment_memberships,
       campaign_sends, customer_identities`,
  );
}

/** Best effort: removes a subject the bench made the sink register (its fresh topic's DLQ). */
export async function deleteRegistrySubject(registryUrl: string, subject: string): Promise<void> {
  const base = `${registryUrl.replace(/\/$/, '')}/subjects/${encodeURIComponent(subject)}`;
  for (const url of [base, `${base}?permanent=true`]) {
    try {
      const res = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
    } catch {
      // the registry keeps one unused subject; harmless
    }
  }
}

/** Deletes every Kafka topic and consumer group of any bench run (names starting with the bench prefixes). */
export async function deleteBenchKafka(kafka: Kafka): Promise<{ topics: number; groups: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(BENCH_TOPIC_PREFIX));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(BENCH_PREFIX));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
    return { topics: topics.length, groups: groups.length };
  } finally {
    await admin.disconnect();
  }
}

/** Best effort: deletes the registry subjects of bench topics (the processors register their dead-letter subjects). */
export async function deleteBenchSubjects(registryUrl: string): Promise<number> {
  const base = registryUrl.replace(/\/$/, '');
  let subjects: string[];
  try {
    const res = await fetch(`${base}/subjects`, { signal: AbortSignal.timeout(5_000) });
    subjects = ((await res.json()) as string[]).filter((s) => s.startsWith(BENCH_TOPIC_PREFIX));
  } catch {
    return 0;
  }
  for (const subject of subjects) await deleteRegistrySubject(registryUrl, subject);
  return subjects.length;
}
