import { commonConfig, field, loadConfig, type Env } from '../config.js';

export interface ProcessorConfigDefaults {
  /** Variable prefix: `ORDERS` reads ORDERS_PORT, ORDERS_GROUP, ORDERS_MAX_BATCH, ... */
  envPrefix: string;
  port: number;
  group: string;
  maxBatchRecords?: number;
}

/** The settings every processor has, under its own variable names; extend with the processor's own. */
export function processorConfigSpec(d: ProcessorConfigDefaults) {
  const p = d.envPrefix;
  return {
    ...commonConfig,
    port: field.int(`${p}_PORT`, d.port, { min: 0, max: 65535 }),
    groupId: field.string(`${p}_GROUP`, d.group),
    maxBatchRecords: field.int(`${p}_MAX_BATCH`, d.maxBatchRecords ?? 1_000, { min: 1, max: 100_000 }),
    /** How long the broker may wait to fill a fetch: the time side of batching. */
    maxWaitMs: field.int(`${p}_MAX_WAIT_MS`, 100, { min: 0, max: 10_000 }),
    /** Partitions handled at once (each in its own transaction). */
    concurrency: field.int(`${p}_CONCURRENCY`, 2, { min: 1, max: 64 }),
    /** How long a dead member keeps its partitions before the group moves them. */
    sessionTimeoutMs: field.int('KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
    dedupRetentionDays: field.int('DEDUP_RETENTION_DAYS', 7, { min: 1, max: 3650 }),
    /** Records claiming to happen later than this after their receipt are dead-lettered (every processor). */
    maxFutureMs: field.int('EVENT_MAX_FUTURE_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
    /** Failure testing only: hold each batch transaction open this long after the write, before COMMIT. */
    faultPauseBeforeCommitMs: field.int('FAULT_PAUSE_BEFORE_COMMIT_MS', 0, { min: 0, max: 60_000 }),
    /**
     * Failure testing only, a SIGKILL of the process itself: 1 = right after a COMMIT that wrote
     * outbox rows, before any relay; 2 = after Kafka acknowledged a relay pass, before its rows are deleted.
     */
    faultKillAroundRelay: field.int('FAULT_KILL_AROUND_RELAY', 0, { min: 0, max: 2 }),
  };
}

export type ProcessorConfig = ReturnType<typeof loadProcessorConfig>;

export function loadProcessorConfig(d: ProcessorConfigDefaults, env: Env) {
  return loadConfig(processorConfigSpec(d), env);
}
