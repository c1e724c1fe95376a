import { commonConfig, field, loadConfig, type Env } from '../../shared/src/config.js';
import { Topics } from '../../shared/src/topics.js';

export const sinkConfigSpec = {
  ...commonConfig,
  port: field.int('EVENT_SINK_PORT', 9101, { min: 0, max: 65535 }),
  groupId: field.string('EVENT_SINK_GROUP', 'cdp-event-sink'),
  /** The input topic, when not `<TOPIC_PREFIX>cdp.events`: replays, benchmarks and tests. */
  topicOverride: field.string('EVENT_SINK_TOPIC', ''),
  maxBatchRecords: field.int('EVENT_SINK_MAX_BATCH', 5_000, { min: 1, max: 100_000 }),
  maxWaitMs: field.int('EVENT_SINK_MAX_WAIT_MS', 100, { min: 0, max: 10_000 }),
  /**
   * COPY format. Text and binary measured equal within noise here (bench/src/copy-formats.ts:
   * index maintenance dominates, not parsing), so text, the simpler one, is the default.
   */
  copyFormat: field.oneOf('EVENT_SINK_COPY_FORMAT', ['text', 'binary'] as const, 'text'),
  /** How long a dead member keeps its partitions before the group moves them. */
  sessionTimeoutMs: field.int('KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
  concurrency: field.int('EVENT_SINK_CONCURRENCY', 2, { min: 1, max: 64 }),
  maxFutureMs: field.int('EVENT_MAX_FUTURE_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
  dedupRetentionDays: field.int('DEDUP_RETENTION_DAYS', 7, { min: 1, max: 3650 }),
  /** Failure testing only: hold each batch transaction open this long after its COPY, before COMMIT. */
  faultPauseBeforeCommitMs: field.int('FAULT_PAUSE_BEFORE_COMMIT_MS', 0, { min: 0, max: 60_000 }),
};

export type SinkConfig = ReturnType<typeof loadSinkConfig>;

export function loadSinkConfig(env: Env) {
  const { topicOverride, ...config } = loadConfig(sinkConfigSpec, env);
  return Object.freeze({ ...config, topic: topicOverride || config.topicPrefix + Topics.events });
}
