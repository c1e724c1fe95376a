import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createCollectorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'collector_requests_total',
      help: 'HTTP requests by route, source and status code',
      labelNames: ['route', 'source', 'status'] as const,
      registers,
    }),
    events: new Counter({
      name: 'collector_events_total',
      help: 'Events received by route, source and outcome (accepted, rejected, failed)',
      labelNames: ['route', 'source', 'outcome'] as const,
      registers,
    }),
    requestBytes: new Histogram({
      name: 'collector_request_size_bytes',
      help: 'Request body size as received (before decompression)',
      labelNames: ['route'] as const,
      buckets: [256, 1024, 4096, 16_384, 65_536, 262_144, 524_288, 1_048_576],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'collector_request_duration_seconds',
      help: 'Time from request to response',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    produceSeconds: new Histogram({
      name: 'collector_produce_duration_seconds',
      help: 'Duration of one produce request to Kafka (acks=all), by result',
      labelNames: ['result'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    produceBatchRecords: new Histogram({
      name: 'collector_produce_batch_records',
      help: 'Records per produce request (concurrent HTTP requests share one)',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    inflight: new Gauge({ name: 'collector_inflight_requests', help: 'Requests being handled', registers }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
