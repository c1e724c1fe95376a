import type { Queryable } from './gateway.js';

/**
 * Kafka offsets kept in PostgreSQL, written in the same transaction as the rows they produced:
 * the database, not Kafka, says how far a processor got.
 */
export async function readOffsets(db: Queryable, group: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ kafka_partition: number; next_offset: number }>(
    'offsets.read',
    'SELECT kafka_partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
    [group, topic],
  );
  return new Map(rows.map((r) => [r.kafka_partition, Number(r.next_offset)]));
}

/** The stored next offset of one partition, if any. */
export async function readOffset(
  db: Queryable,
  group: string,
  topic: string,
  partition: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ next_offset: number }>(
    'offsets.read-one',
    'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3',
    [group, topic, partition],
  );
  return rows[0] === undefined ? undefined : Number(rows[0].next_offset);
}

/**
 * Locks the partition's offset row for this transaction and returns the next offset to apply.
 * Two consumers that both believe they own a partition (a rebalance with a slow zombie) queue
 * here, and the second sees what the first committed.
 */
export async function lockOffset(
  tx: Queryable,
  group: string,
  topic: string,
  partition: number,
  clusterId: string | null = null,
): Promise<number> {
  await tx.query(
    'offsets.init',
    `INSERT INTO consumer_offsets (consumer_group, topic, kafka_partition, next_offset, kafka_cluster_id)
     VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING`,
    [group, topic, partition, clusterId],
  );
  const { rows } = await tx.query<{ next_offset: number }>(
    'offsets.lock',
    `SELECT next_offset FROM consumer_offsets
     WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3 FOR UPDATE`,
    [group, topic, partition],
  );
  return Number(rows[0]!.next_offset);
}

export async function storeOffset(
  tx: Queryable,
  group: string,
  topic: string,
  partition: number,
  next: number,
): Promise<void> {
  await tx.query(
    'offsets.store',
    `UPDATE consumer_offsets SET next_offset = $4, updated_at = now()
     WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3`,
    [group, topic, partition, next],
  );
}

/**
 * Moves a stored offset back to `offset`. Only for a partition whose stored offset lies past its
 * end: the topic was deleted and created again, and its new records would otherwise be skipped.
 */
export async function rewindOffset(
  db: Queryable,
  group: string,
  topic: string,
  partition: number,
  offset: number,
): Promise<void> {
  await db.query(
    'offsets.rewind',
    `UPDATE consumer_offsets SET next_offset = $4, updated_at = now()
     WHERE consumer_group = $1 AND topic = $2 AND kafka_partition = $3 AND next_offset > $4`,
    [group, topic, partition, offset],
  );
}

/**
 * At start: offsets of `group` stored for another Kafka cluster are reset to 0 (they count
 * another cluster's records; message de-duplication drops what was already applied), and rows
 * stored before the cluster was recorded are stamped with this one. Returns the rows reset.
 */
export async function fenceOffsetsToCluster(
  db: Queryable,
  group: string,
  clusterId: string,
): Promise<number> {
  await db.query(
    'offsets.stamp-cluster',
    'UPDATE consumer_offsets SET kafka_cluster_id = $2 WHERE consumer_group = $1 AND kafka_cluster_id IS NULL',
    [group, clusterId],
  );
  const { rowCount } = await db.query(
    'offsets.reset-other-cluster',
    `UPDATE consumer_offsets SET next_offset = 0, kafka_cluster_id = $2, updated_at = now()
     WHERE consumer_group = $1 AND kafka_cluster_id <> $2`,
    [group, clusterId],
  );
  return rowCount ?? 0;
}
