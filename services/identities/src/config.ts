import { loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const identitiesConfigSpec = processorConfigSpec({
  envPrefix: 'IDENTITIES',
  port: 9102,
  group: 'cdp-identities',
});

export type IdentitiesConfig = ReturnType<typeof loadIdentitiesConfig>;

export function loadIdentitiesConfig(env: Env) {
  return loadConfig(identitiesConfigSpec, env);
}
