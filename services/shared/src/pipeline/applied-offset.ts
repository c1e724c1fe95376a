import type { Logger } from '../logger.js';
import type { Queryable } from '../pg/gateway.js';
import { readOffset, rewindOffset } from '../pg/offsets.js';
import type { PartitionBatch } from './partition-consumer.js';

/**
 * Where a partition batch starts being new: the offset stored with the rows of earlier batches,
 * read before any work (or dead-lettering) is done again. A stored offset past the end of the
 * partition means the topic was recreated (or Kafka's data lost); skipping would silently drop
 * its new records, so the offset is rewound to this batch and message de-duplication drops
 * whatever was already applied.
 */
export async function appliedOffset(
  db: Queryable,
  group: string,
  batch: PartitionBatch,
  logger: Logger,
): Promise<number> {
  const { topic, partition } = batch;
  const stored = (await readOffset(db, group, topic, partition)) ?? 0;
  if (stored <= batch.highWatermark) return stored;
  const first = Number(batch.messages[0]!.offset);
  logger.error(
    { topic, partition, storedOffset: stored, highWatermark: batch.highWatermark, resumeFrom: first },
    'stored offset is past the end of the partition; the topic was recreated; rewinding',
  );
  await rewindOffset(db, group, topic, partition, first);
  return first;
}
