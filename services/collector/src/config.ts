import { commonConfig, field, loadConfig, type Env } from '../../shared/src/config.js';

export const collectorConfigSpec = {
  ...commonConfig,
  port: field.int('COLLECTOR_PORT', 8080, { min: 0, max: 65535 }),
  host: field.string('COLLECTOR_HOST', '0.0.0.0'),
  /** Trust X-Forwarded-For only behind a proxy we run: `true`, a hop count, or a list of proxy addresses. */
  trustProxy: field.string('TRUST_PROXY', 'false'),
  /**
   * The Kafka client the collector produces with: `platformatic` (@platformatic/kafka, idempotent;
   * a third to a half of kafkajs's CPU per record, see bench/README.md) or `kafkajs`.
   */
  kafkaClient: field.oneOf('COLLECTOR_KAFKA_CLIENT', ['platformatic', 'kafkajs'] as const, 'platformatic'),
  produceTimeoutMs: field.int('PRODUCE_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 }),
  lingerMs: field.int('PRODUCE_LINGER_MS', 2, { min: 0, max: 1_000 }),
  /** Past this many events accepted but not yet acknowledged by Kafka, requests get 503 at once. */
  maxPendingEvents: field.int('MAX_PENDING_EVENTS', 5_000, { min: 100, max: 10_000_000 }),
  /** Past this event-loop delay the collector is overloaded: tracking requests get 503 at once. */
  maxEventLoopDelayMs: field.int('MAX_EVENT_LOOP_DELAY_MS', 1_000, { min: 0, max: 60_000 }),
  rateLimitPerSecond: field.int('RATE_LIMIT_PER_SOURCE', 2_000, { min: 1, max: 1_000_000 }),
  sourceCacheTtlMs: field.int('SOURCE_CACHE_TTL_MS', 30_000, { min: 0, max: 60_000 }),
  maxEventBytes: field.int('MAX_EVENT_BYTES', 32 * 1024, { min: 1024, max: 1024 * 1024 }),
  maxBatchBytes: field.int('MAX_BATCH_BYTES', 500 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
};

export type CollectorConfig = ReturnType<typeof loadCollectorConfig>;

export function loadCollectorConfig(env: Env) {
  return loadConfig(collectorConfigSpec, env);
}

/** Fastify's trustProxy option from TRUST_PROXY: false, true, a hop count or a comma list of addresses. */
export function parseTrustProxy(raw: string): boolean | string[] | ((addr: string, hop: number) => boolean) {
  if (/^(false|0|no|)$/i.test(raw)) return false;
  if (/^(true|yes)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    return (_addr, hop) => hop < hops;
  }
  return raw.split(',').map((s) => s.trim());
}
