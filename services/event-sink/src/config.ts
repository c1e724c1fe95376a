import { field, loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';
import { Topics } from '../../shared/src/topics.js';

export const sinkConfigSpec = {
  ...processorConfigSpec({
    envPrefix: 'EVENT_SINK',
    port: 9101,
    group: 'cdp-event-sink',
    maxBatchRecords: 5_000,
  }),
  /** The input topic, when not `<TOPIC_PREFIX>cdp.events`: replays, benchmarks and tests. */
  topicOverride: field.string('EVENT_SINK_TOPIC', ''),
  /**
   * COPY format. Text and binary measured equal within noise here (bench/src/copy-formats.ts:
   * index maintenance dominates, not parsing), so text, the simpler one, is the default.
   */
  copyFormat: field.oneOf('EVENT_SINK_COPY_FORMAT', ['text', 'binary'] as const, 'text'),
  /**
   * The customers' event metrics in the sink's transaction. `false` is for measuring their cost
   * (make bench) only: the metrics then drift from the events until `npm run customers:recompute`.
   */
  customerMetrics: field.bool('EVENT_SINK_CUSTOMER_METRICS', true),
};

export type SinkConfig = ReturnType<typeof loadSinkConfig>;

export function loadSinkConfig(env: Env) {
  const { topicOverride, ...config } = loadConfig(sinkConfigSpec, env);
  return Object.freeze({ ...config, topic: topicOverride || config.topicPrefix + Topics.events });
}
