import { commonConfig, field, loadConfig, type Env } from '../../shared/src/config.js';

export const schedulerConfigSpec = {
  databaseUrl: commonConfig.databaseUrl,
  logLevel: commonConfig.logLevel,
  // The metrics jobs publish their changes on cdp.customer-changes.
  kafkaBrokers: commonConfig.kafkaBrokers,
  schemaRegistryUrl: commonConfig.schemaRegistryUrl,
  topicPrefix: commonConfig.topicPrefix,
  port: field.int('SCHEDULER_PORT', 9105, { min: 0, max: 65535 }),
  /** How often the leader looks for due jobs and a standby tries to take the lock. */
  pollMs: field.int('SCHEDULER_POLL_MS', 15_000, { min: 100, max: 3_600_000 }),
};

export type SchedulerConfig = ReturnType<typeof loadSchedulerConfig>;

export function loadSchedulerConfig(env: Env) {
  return loadConfig(schedulerConfigSpec, env);
}
