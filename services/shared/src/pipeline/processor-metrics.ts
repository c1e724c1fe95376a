import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What the runtime measures for every processor. The registry's default labels carry
 * `processor="<name>"`, so one dashboard query covers them all.
 */
export function createProcessorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    applied: new Counter({
      name: 'processor_records_applied_total',
      help: 'Records written by committed transactions (after offset and message de-duplication)',
      registers,
    }),
    batchRows: new Histogram({
      name: 'processor_batch_rows',
      help: 'Records per handled batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'processor_batch_duration_seconds',
      help: 'Decode, write and commit of one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lag: new Gauge({
      name: 'processor_consumer_lag',
      help: 'Records behind the partition high watermark after the last batch',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    freshness: new Histogram({
      name: 'processor_receive_to_commit_seconds',
      help: 'From the collector receiving a record to the processor committing what it derived',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    deadLettered: new Counter({
      name: 'processor_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    dropped: new Counter({
      name: 'processor_records_skipped_total',
      help: "Records this processor has nothing to do with (another processor's), by reason",
      labelNames: ['reason'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'processor_duplicates_dropped_total',
      help: 'Records dropped as already applied, by kind (offset: below the stored offset; fenced: applied by another instance while this one waited for the offset lock; message: same source and messageId)',
      labelNames: ['kind'] as const,
      registers,
    }),
    batchesSplit: new Counter({
      name: 'processor_batches_split_total',
      help: 'Batches PostgreSQL refused because of some record in them, split to find and dead-letter those records',
      registers,
    }),
    retries: new Counter({
      name: 'processor_batch_retries_total',
      help: 'Batches retried after a retryable failure',
      registers,
    }),
    outboxRelayed: new Counter({
      name: 'processor_outbox_relayed_total',
      help: 'Derived records produced to Kafka from the outbox (by this instance)',
      registers,
    }),
    outboxDeadLettered: new Counter({
      name: 'processor_outbox_dead_lettered_total',
      help: 'Outbox records Kafka refused for good (too large for their topic), moved to outbox_dead_letters',
      registers,
    }),
    outboxPending: new Gauge({
      name: 'processor_outbox_pending',
      help: "This processor's outbox rows waiting to be relayed, as of the last relay pass",
      registers,
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
