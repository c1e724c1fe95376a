import { field, loadConfig, type Env } from '../../shared/src/config.js';
import { processorConfigSpec } from '../../shared/src/pipeline/processor-config.js';

export const campaignsConfigSpec = {
  ...processorConfigSpec({ envPrefix: 'CAMPAIGNS', port: 9104, group: 'cdp-campaigns' }),
  /** How long a campaign found to exist is not looked up again (a deleted one is caught in the write). */
  campaignCacheTtlMs: field.int('CAMPAIGNS_CACHE_TTL_MS', 60_000, { min: 0, max: 3_600_000 }),
  /** An event received this long after it happened counts as late (campaigns_events_late_total). */
  lateAfterMs: field.int('CAMPAIGNS_LATE_AFTER_MS', 3_600_000, { min: 0, max: 30 * 24 * 3_600_000 }),
};

export type CampaignsConfig = ReturnType<typeof loadCampaignsConfig>;

export function loadCampaignsConfig(env: Env) {
  return loadConfig(campaignsConfigSpec, env);
}
