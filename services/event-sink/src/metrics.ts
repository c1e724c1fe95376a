import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's own metrics; the runtime's (batches, lag, freshness, dead letters) are processor_*. */
export function createSinkMetrics(registry: Registry) {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'sink_rows_written_total',
      help: 'customer_events rows committed',
      registers,
    }),
    copyRowsPerSecond: new Gauge({
      name: 'sink_copy_rows_per_second',
      help: 'COPY throughput of the last batch',
      registers,
    }),
    eventTimeLag: new Histogram({
      name: 'sink_event_time_to_commit_seconds',
      help: "From an event's (skew-corrected) occurred_at to its row being committed; late and replayed events land in the high buckets",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86_400],
      registers,
    }),
    truncated: new Counter({
      name: 'sink_truncated_values_total',
      help: 'Values cut to fit their VARCHAR(n) column, by column (the README lists the policy)',
      labelNames: ['column'] as const,
      registers,
    }),
  };
}

export type SinkMetrics = ReturnType<typeof createSinkMetrics>;
