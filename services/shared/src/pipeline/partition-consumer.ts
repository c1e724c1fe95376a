import { createConsumer, type Kafka, type KafkaMessage } from '../kafka/client.js';
import type { Logger } from '../logger.js';
import { isRetryable } from '../errors.js';
import { backoffMs, sleep } from '../retry.js';

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** Records between this batch's end and the partition's high watermark. */
  lag: number;
  /** The partition's high watermark: the offset the next record written will get. */
  highWatermark: number;
}

export interface PartitionConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  logger: Logger;
  /** Applies one batch, committing its offsets in PostgreSQL together with its rows. */
  handle: (batch: PartitionBatch) => Promise<void>;
  /** Where each assigned partition of `topic` resumes: the offsets stored with the rows. */
  storedOffsets: (topic: string) => Promise<Map<number, number>>;
  /** Called when the loop hits a bug (non-retryable error): the process must stop. */
  onFatal: (err: Error) => void;
  onRetry?: (err: unknown, attempt: number) => void;
  maxBatchRecords: number;
  /** How long the broker may wait to fill a fetch: the time side of batching. */
  maxWaitMs: number;
  partitionsConcurrently: number;
  sessionTimeoutMs?: number;
}

/**
 * A consumer-group member that hands each partition's records to `handle` in batches, retries a
 * batch that failed for a retryable reason (with bounded backoff, forever, never skipping) and
 * resumes from the offsets stored in PostgreSQL when partitions are assigned. Offsets are also
 * committed to Kafka after each batch, only so that lag tools show progress.
 */
export async function startPartitionConsumer(
  opts: PartitionConsumerOptions,
): Promise<{ stop(): Promise<void> }> {
  const consumer = createConsumer(opts.kafka, {
    groupId: opts.groupId,
    maxWaitTimeInMs: opts.maxWaitMs,
    maxBytesPerPartition: 4 * 1024 * 1024,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
    // A consumer that cannot reach the broker keeps trying instead of exiting.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  let stopping = false;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const topic of opts.topics) {
      const partitions = payload.memberAssignment[topic] ?? [];
      if (partitions.length === 0) continue;
      void opts.storedOffsets(topic).then(
        (stored) => {
          for (const partition of partitions) {
            const offset = stored.get(partition);
            if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
          }
          opts.logger.info(
            { topic, partitions, resumeFrom: Object.fromEntries(stored) },
            'partitions assigned',
          );
        },
        // Not fatal: the in-transaction offset check still drops anything already applied.
        (err: Error) =>
          opts.logger.warn(
            { topic, err: { message: err.message } },
            'could not read stored offsets on assignment',
          ),
      );
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) opts.onFatal(payload.error);
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [...opts.topics], fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConcurrently,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      const { messages } = batch;
      for (let i = 0; i < messages.length; i += opts.maxBatchRecords) {
        if (!isRunning() || isStale() || stopping) return;
        const chunk = messages.slice(i, i + opts.maxBatchRecords);
        const last = chunk[chunk.length - 1]!;
        const lag = Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1);
        for (let attempt = 0; ; attempt++) {
          try {
            await opts.handle({
              topic: batch.topic,
              partition: batch.partition,
              messages: chunk,
              lag,
              highWatermark: Number(batch.highWatermark),
            });
            break;
          } catch (err) {
            if (!isRetryable(err)) {
              opts.onFatal(err as Error);
              return;
            }
            opts.onRetry?.(err, attempt);
            opts.logger.warn(
              {
                topic: batch.topic,
                partition: batch.partition,
                attempt,
                err: { message: (err as Error).message },
              },
              'batch failed for a retryable reason; retrying the same batch',
            );
            await sleep(backoffMs(attempt, 10_000, 200));
            if (!isRunning() || stopping) return;
            await heartbeat().catch(() => {});
          }
        }
        resolveOffset(last.offset);
        await heartbeat().catch(() => {});
      }
      await commitOffsetsIfNecessary().catch(() => {});
    },
  });

  return {
    async stop() {
      stopping = true;
      // disconnect() waits for the batch in progress to finish (or to notice `stopping`).
      await consumer.disconnect();
    },
  };
}
