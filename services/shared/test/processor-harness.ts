/** Runs a processor definition in the test process: the runtime's applier and consumer, real servers. */
import { Registry, type Counter } from 'prom-client';
import type { AvroCodec } from '../src/avro/registry.js';
import type { Kafka, KafkaMessage } from '../src/kafka/client.js';
import type { OutRecord } from '../src/kafka/batching-publisher.js';
import type { Db } from '../src/pg/gateway.js';
import { BatchApplier } from '../src/pipeline/apply-batch.js';
import { DeadLetters } from '../src/pipeline/dead-letter.js';
import { startPartitionConsumer } from '../src/pipeline/partition-consumer.js';
import type { ProcessorDefinition } from '../src/pipeline/processor.js';
import { createProcessorMetrics, type ProcessorMetrics } from '../src/pipeline/processor-metrics.js';
import type { PartitionBatch } from '../src/pipeline/partition-consumer.js';
import { logger } from './support.js';

export interface Harness<T, C> {
  applier: BatchApplier<T, C>;
  metrics: ProcessorMetrics;
  registry: Registry;
}

export async function harness<T, C>(
  definition: ProcessorDefinition<T, C>,
  opts: {
    db: Db;
    codec: AvroCodec;
    publish: (records: OutRecord[]) => Promise<void>;
    service?: string;
    faultPauseBeforeCommitMs?: number;
  },
): Promise<Harness<T, C>> {
  const registry = new Registry();
  const metrics = createProcessorMetrics(registry);
  const deadLetters = new DeadLetters(opts.codec, opts.service ?? 'sink-test');
  for (const topic of definition.topics) await deadLetters.load(topic);
  const applier = new BatchApplier({
    db: opts.db,
    definition,
    deadLetters,
    publish: opts.publish,
    metrics,
    logger,
    ...(opts.faultPauseBeforeCommitMs ? { faultPauseBeforeCommitMs: opts.faultPauseBeforeCommitMs } : {}),
  });
  return { applier, metrics, registry };
}

/** Consumes the definition's topics with a consumer group, as the service does, until teardown. */
export async function consume<T, C>(
  t: { teardown(fn: () => unknown): void; fail(msg: string): void },
  kafka: Kafka,
  definition: ProcessorDefinition<T, C>,
  h: Harness<T, C>,
): Promise<void> {
  const consumer = await startPartitionConsumer({
    kafka,
    groupId: definition.groupId,
    topics: definition.topics,
    logger,
    handle: (b) => h.applier.handle(b),
    storedOffsets: (topic) => h.applier.storedOffsets(topic),
    onFatal: (err) => t.fail(`processor crashed: ${err.message}`),
    maxBatchRecords: 500,
    maxWaitMs: 50,
    partitionsConcurrently: 2,
  });
  t.teardown(() => consumer.stop());
}

/** Values as the records of one partition from offset `from`, for calling handle() directly. */
export function batchOf(topic: string, values: Buffer[], from = 0, partition = 0): PartitionBatch {
  const messages = values.map(
    (value, i) =>
      ({
        offset: String(from + i),
        value,
        key: null,
        timestamp: '0',
        attributes: 0,
        headers: {},
      }) as KafkaMessage,
  );
  return { topic, partition, messages, lag: 0, highWatermark: from + values.length };
}

/** A counter's value for one label set (0 when never incremented). */
export async function countOf(
  counter: Counter<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}
