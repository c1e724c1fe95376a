import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createSinkMetrics(registry: Registry) {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'sink_rows_written_total',
      help: 'customer_events rows committed',
      registers,
    }),
    batchRows: new Histogram({
      name: 'sink_batch_rows',
      help: 'Records per committed batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'sink_batch_duration_seconds',
      help: 'Decode, map, resolve, COPY and commit of one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    copyRowsPerSecond: new Gauge({
      name: 'sink_copy_rows_per_second',
      help: 'COPY throughput of the last batch',
      registers,
    }),
    lag: new Gauge({
      name: 'sink_consumer_lag',
      help: 'Records behind the partition high watermark after the last batch',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    freshness: new Histogram({
      name: 'sink_receive_to_commit_seconds',
      help: 'From the collector receiving an event to its row being committed',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    eventTimeLag: new Histogram({
      name: 'sink_event_time_to_commit_seconds',
      help: "From an event's (skew-corrected) occurred_at to its row being committed; late and replayed events land in the high buckets",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86_400],
      registers,
    }),
    deadLettered: new Counter({
      name: 'sink_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'sink_duplicates_dropped_total',
      help: 'Records dropped as already applied, by kind (offset: a replayed Kafka record; message: same source and messageId)',
      labelNames: ['kind'] as const,
      registers,
    }),
    truncated: new Counter({
      name: 'sink_truncated_values_total',
      help: 'Values cut to fit their VARCHAR(n) column, by column (the README lists the policy)',
      labelNames: ['column'] as const,
      registers,
    }),
    batchesSplit: new Counter({
      name: 'sink_batches_split_total',
      help: 'Batches PostgreSQL refused because of some record in them, split to find and dead-letter those records',
      registers,
    }),
    retries: new Counter({
      name: 'sink_batch_retries_total',
      help: 'Batches retried after a retryable failure',
      registers,
    }),
  };
}

export type SinkMetrics = ReturnType<typeof createSinkMetrics>;
