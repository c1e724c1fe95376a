import { refreshClockDrivenMetrics } from '../../../shared/src/customers/metrics/refresh.js';
import type { JobHandler } from './handler.js';
import type { MetricsPublishing } from './metrics-publishing.js';

/**
 * `daily_engagement_scores`: the columns that change with the passing of time alone (scores,
 * lifecycle stage, days_since_last_order, age_group) brought to the run's start; what changed is
 * published on cdp.customer-changes.
 */
export const dailyEngagementScores =
  (publishing: MetricsPublishing): JobHandler =>
  async ({ db, now, signal, logger }) => {
    const result = await refreshClockDrivenMetrics(db, now, {
      signal,
      feed: publishing.changes,
      onProgress: (p) => {
        publishing.written();
        logger.debug({ scanned: p.scanned, changed: p.changed }, 'clock-driven metrics slice');
      },
    });
    return { summary: `${result.scanned} customers scanned, ${result.changed} changed` };
  };
