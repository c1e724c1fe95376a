import { field, loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const identitiesConfigSpec = {
  ...processorConfigSpec({ envPrefix: 'IDENTITIES', port: 9102, group: 'cdp-identities' }),
  /** How far past its receipt a record may claim to have happened (the event sink's rule too). */
  maxFutureMs: field.int('EVENT_MAX_FUTURE_MS', 24 * 3600 * 1000, { min: 0, max: 365 * 24 * 3600 * 1000 }),
};

export type IdentitiesConfig = ReturnType<typeof loadIdentitiesConfig>;

export function loadIdentitiesConfig(env: Env) {
  return loadConfig(identitiesConfigSpec, env);
}
