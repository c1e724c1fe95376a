/**
 * The processors the bench runs beside the collector, one entry each: where the built process
 * is, which variables name its port and consumer group, and which input topics it reads (so its
 * records per second can be counted from those topics' offsets). A processor whose dist file does
 * not exist yet is skipped, and the bench says so. Every one gets TOPIC_PREFIX, so it reads the
 * bench's own topics, and a consumer group of the bench's own.
 *
 * Metric names: the shared processor runtime exposes `processor_*` metrics with a `processor`
 * label; the event sink before it had `sink_*`. The bench reads the new name and falls back to the
 * old one, so it works with either.
 */
import { existsSync } from 'node:fs';
import { repoPath } from '../../services/shared/src/repo-path.js';
import { Topics } from '../../services/shared/src/topics.js';
import type { BenchOptions } from './options.js';
import { freePort, startChild, waitReady, type Child } from './procs.js';
import { parseGauge, parseHistogram, type PromHistogram } from './stats.js';

export interface ProcessorSpec {
  name: string;
  entry: string;
  portVariable: string;
  groupVariable: string;
  /** Input topics (unprefixed). */
  topics: string[];
}

export const PROCESSORS: readonly ProcessorSpec[] = [
  {
    name: 'event-sink',
    entry: 'dist/services/event-sink/src/main.js',
    portVariable: 'EVENT_SINK_PORT',
    groupVariable: 'EVENT_SINK_GROUP',
    topics: [Topics.events],
  },
  {
    name: 'identities',
    entry: 'dist/services/identities/src/main.js',
    portVariable: 'IDENTITIES_PORT',
    groupVariable: 'IDENTITIES_GROUP',
    topics: [Topics.identities],
  },
  {
    name: 'orders',
    entry: 'dist/services/orders/src/main.js',
    portVariable: 'ORDERS_PORT',
    groupVariable: 'ORDERS_GROUP',
    topics: [Topics.orders, Topics.events],
  },
  {
    name: 'campaigns',
    entry: 'dist/services/campaigns/src/main.js',
    portVariable: 'CAMPAIGNS_PORT',
    groupVariable: 'CAMPAIGNS_GROUP',
    topics: [Topics.campaignEvents],
  },
  {
    name: 'segments',
    entry: 'dist/services/segments/src/main.js',
    portVariable: 'SEGMENTS_PORT',
    groupVariable: 'SEGMENTS_GROUP',
    topics: [Topics.customerChanges],
  },
];

export const isBuilt = (p: ProcessorSpec): boolean => existsSync(repoPath(p.entry));

export interface RunningProcessor {
  spec: ProcessorSpec;
  child: Child;
  port: number;
  group: string;
  metricsText(): Promise<string>;
}

/** Starts `spec` on the bench's topics (`prefix`) with its own group; resolves when it is ready. */
export async function startProcessor(
  spec: ProcessorSpec,
  opts: Pick<BenchOptions, 'databaseUrl' | 'kafkaBrokers' | 'schemaRegistryUrl'>,
  prefix: string,
  group: string,
  extra: { env?: Record<string, string>; readyPath?: string; name?: string } = {},
): Promise<RunningProcessor> {
  const port = await freePort();
  const child = startChild(extra.name ?? spec.name, spec.entry, {
    TOPIC_PREFIX: prefix,
    [spec.portVariable]: String(port),
    [spec.groupVariable]: group,
    LOG_LEVEL: 'warn',
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: opts.schemaRegistryUrl,
    ...extra.env,
  });
  await waitReady(child, `http://127.0.0.1:${port}${extra.readyPath ?? '/readyz'}`, 90_000);
  return {
    spec,
    child,
    port,
    group,
    metricsText: async () =>
      (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text(),
  };
}

/** The processor runtime's name of a metric, and the event sink's name before it. */
const NAMES = {
  receiveToCommit: ['processor_receive_to_commit_seconds', 'sink_receive_to_commit_seconds'],
  lag: ['processor_consumer_lag', 'sink_consumer_lag'],
  batchRows: ['processor_batch_rows', 'sink_batch_rows'],
  deadLettered: ['processor_dead_lettered_total', 'sink_dead_lettered_total'],
  duplicates: ['processor_duplicates_dropped_total', 'sink_duplicates_dropped_total'],
  retries: ['processor_batch_retries_total', 'sink_batch_retries_total'],
} as const;

export type MetricKey = keyof typeof NAMES;

export function histogram(text: string, key: MetricKey): PromHistogram | undefined {
  for (const name of NAMES[key]) {
    const h = parseHistogram(text, name);
    if (h) return h;
  }
  return undefined;
}

/** A gauge or counter summed over its label sets (new name first); NaN when neither is there. */
export function value(text: string, key: MetricKey): number {
  for (const name of NAMES[key]) {
    const v = parseGauge(text, name);
    if (!Number.isNaN(v)) return v;
  }
  return NaN;
}
