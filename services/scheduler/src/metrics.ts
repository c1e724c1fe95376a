import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metric } from '../../shared/src/metrics/registry.js';

export interface SchedulerMetrics {
  runs: Counter<'job' | 'status'>;
  duration: Histogram<'job'>;
  leader: Gauge;
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    runs: metric(
      registry,
      'scheduler_job_runs_total',
      (name, registers) =>
        new Counter({ name, help: 'Job runs by outcome', labelNames: ['job', 'status'] as const, registers }),
    ),
    duration: metric(
      registry,
      'scheduler_job_duration_seconds',
      (name, registers) =>
        new Histogram({
          name,
          help: 'Duration of job runs (all attempts), cancelled runs excluded',
          labelNames: ['job'] as const,
          // Jobs range from a segment refresh of seconds to a full metrics repair of an hour.
          buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
          registers,
        }),
    ),
    leader: metric(
      registry,
      'scheduler_leader',
      (name, registers) =>
        new Gauge({ name, help: '1 while this instance holds the scheduler lock and runs jobs', registers }),
    ),
  };
}
