/**
 * What the bench reads from the environment: the contract's common variables (the stack it talks
 * to, which must be on this machine) and a few knobs, all with defaults that keep a full run of
 * `make bench` under ten minutes on the 2-core machine.
 */
import { commonConfig, field, loadConfig, type Env } from '../../services/shared/src/config.js';

export const benchSpec = {
  ...commonConfig,
  /** Runs per figure; each figure is the median over runs. */
  runs: field.int('BENCH_RUNS', 3, { min: 1, max: 9 }),
  /** Events per HTTP batch request. */
  batchEvents: field.int('BENCH_BATCH_EVENTS', 100, { min: 1, max: 500 }),
  /** Collector, step 1: closed loop, to find the maximum accepted rate. */
  maxConnections: field.int('BENCH_MAX_CONNECTIONS', 32, { min: 1, max: 1000 }),
  maxSeconds: field.int('BENCH_MAX_SECONDS', 10, { min: 2, max: 120 }),
  /** Collector, step 2: paced load at this share of the maximum. */
  paceShare: field.int('BENCH_PACE_PERCENT', 70, { min: 1, max: 100 }),
  paceSeconds: field.int('BENCH_PACE_SECONDS', 15, { min: 2, max: 120 }),
  /** Sink: events produced to the fresh topic. */
  sinkEvents: field.int('BENCH_SINK_EVENTS', 200_000, { min: 1_000, max: 5_000_000 }),
  sinkCustomers: field.int('BENCH_SINK_CUSTOMERS', 20_000, { min: 10, max: 1_000_000 }),
  /** End to end, stepped: the first rate (events/s), the highest tried, each step's window, steps at most, bisections. */
  e2eStartRate: field.int('BENCH_E2E_START_RATE', 600, { min: 100, max: 1_000_000 }),
  e2eMaxRate: field.int('BENCH_E2E_MAX_RATE', 80_000, { min: 100, max: 1_000_000 }),
  e2eStepSeconds: field.int('BENCH_E2E_STEP_SECONDS', 12, { min: 3, max: 120 }),
  e2eMaxSteps: field.int('BENCH_E2E_MAX_STEPS', 9, { min: 1, max: 30 }),
  e2eRefine: field.int('BENCH_E2E_REFINE', 2, { min: 0, max: 5 }),
  /** The segments processor and its 100 segments in the e2e phase; false measures the rest without them. */
  e2eSegments: field.bool('BENCH_E2E_SEGMENTS', true),
  /** Refresh: bench customers made for the scheduler's clock-driven refresh. */
  refreshCustomers: field.int('BENCH_REFRESH_CUSTOMERS', 100_000, { min: 1_000, max: 1_000_000 }),
  /** A CPU profile of the collector at its maximum (node --cpu-prof), summarised in the report. */
  profile: field.bool('BENCH_PROFILE', false),
  profileSeconds: field.int('BENCH_PROFILE_SECONDS', 10, { min: 2, max: 120 }),
  /** Hard cap on the whole bench; past it everything is stopped and the bench fails. */
  timeLimitSeconds: field.int('BENCH_TIME_LIMIT_SECONDS', 900, { min: 60, max: 3600 }),
  /** Which phases to run: any of collector, sink, e2e, refresh. */
  phases: field.string('BENCH_PHASES', 'collector,sink,e2e,refresh'),
};

export type BenchOptions = ReturnType<typeof loadBenchOptions>;

export function loadBenchOptions(env: Env) {
  return loadConfig(benchSpec, env);
}

/** The bench sends traffic only to this machine; refuses anything else up front. */
export function assertLoopback(opts: BenchOptions): void {
  const hosts: string[] = [
    new URL(opts.databaseUrl).hostname,
    new URL(opts.schemaRegistryUrl).hostname,
    ...opts.kafkaBrokers.map((hp) => hp.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')),
  ];
  const bad = hosts.filter((h) => !/^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(h));
  if (bad.length > 0) {
    throw new Error(`the bench only runs against this machine (127.0.0.1); not loopback: ${bad.join(', ')}`);
  }
}
