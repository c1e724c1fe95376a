/**
 * The bench leaves nothing behind: every customer, event row, dedup entry, stored offset and
 * source it creates carries BENCH_PREFIX, and is deleted at the end of the run. What a running
 * development sink ingests after that (it reads the collector phase's traffic from cdp.events at
 * its own pace) is deleted at the start of the next bench run, so the database never holds more
 * than one run's leftovers.
 */
import type { Db } from '../../services/shared/src/pg/gateway.js';
import type { Kafka } from '../../services/shared/src/kafka/client.js';
import { Topics } from '../../services/shared/src/topics.js';
import { sleep } from '../../services/shared/src/retry.js';
import { sinkConfigSpec } from '../../services/event-sink/src/config.js';
import { BENCH_PREFIX } from './context.js';
import { progress } from './log.js';

const LIKE = `${BENCH_PREFIX}%`;

/** Deletes everything any bench run left in PostgreSQL. `keepSource` keeps this run's source. */
export async function deleteBenchData(db: Db, keepSource?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const run = async (name: string, sql: string, values: unknown[] = []) => {
    counts[name] = (await db.query(`bench.clean-${name}`, sql, values)).rowCount ?? 0;
  };
  // Deleting the customers deletes their events, identities and memberships (ON DELETE CASCADE).
  await run('customers', 'DELETE FROM customers WHERE customer_id LIKE $1', [LIKE]);
  await run(
    'dedup',
    `DELETE FROM message_dedup WHERE source_key LIKE $1
       OR source_key IN (SELECT id::text FROM sources WHERE name LIKE $1)`,
    [LIKE],
  );
  await run('offsets', 'DELETE FROM consumer_offsets WHERE consumer_group LIKE $1', [LIKE]);
  await run('sources', 'DELETE FROM sources WHERE name LIKE $1 AND name IS DISTINCT FROM $2', [
    LIKE,
    keepSource ?? null,
  ]);
  return counts;
}

export async function vacuumEvents(db: Db): Promise<void> {
  await db.query('bench.vacuum', 'VACUUM (ANALYZE) customer_events');
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

/**
 * A development sink (`make up`) consumes cdp.events with its own group, so it also ingests the
 * bench's HTTP traffic. Returns whether one runs: its consumer group has members right now.
 */
export async function devSinkActive(kafka: Kafka): Promise<boolean> {
  const group = sinkConfigSpec.groupId.parse(undefined);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return (groups[0]?.members.length ?? 0) > 0;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits (at most `maxMs`) until the development sink has committed everything on cdp.events up
 * to now, so the bench's traffic it ingested can be deleted with the rest. Returns whether it did.
 */
export async function waitForDevSink(db: Db, kafka: Kafka, maxMs: number): Promise<boolean> {
  const group = sinkConfigSpec.groupId.parse(undefined);
  const admin = kafka.admin();
  await admin.connect();
  let high: Map<number, number>;
  try {
    high = new Map((await admin.fetchTopicOffsets(Topics.events)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const deadline = Date.now() + maxMs;
  let lastReport = 0;
  for (;;) {
    const { rows } = await db.query<{ kafka_partition: number; next_offset: number }>(
      'bench.dev-sink-progress',
      'SELECT kafka_partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
      [group, Topics.events],
    );
    const at = new Map(rows.map((r) => [r.kafka_partition, Number(r.next_offset)]));
    let behind = 0;
    for (const [p, h] of high) behind += Math.max(0, h - (at.get(p) ?? 0));
    if (behind === 0) return true;
    if (Date.now() > deadline) return false;
    if (Date.now() - lastReport > 5_000) {
      progress(
        `cleanup: the development sink is ${behind.toLocaleString('en-US')} records behind on ${Topics.events}; waiting`,
      );
      lastReport = Date.now();
    }
    await sleep(500);
  }
}
