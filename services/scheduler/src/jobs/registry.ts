import { dailyCustomerMetrics } from './daily-customer-metrics.js';
import { dailyEngagementScores } from './daily-engagement-scores.js';
import type { JobRegistry } from './handler.js';
import { hourlySegmentRefresh } from './hourly-segment-refresh.js';
import type { MetricsPublishing } from './metrics-publishing.js';

/**
 * The jobs this scheduler can run, by the seed's job_name. `weekly_cohort_analysis` has no
 * handler yet (see the README): its row is reported as unsupported rather than run.
 */
export function defaultJobs(publishing: MetricsPublishing, databaseUrl: string): JobRegistry {
  return new Map([
    ['daily_customer_metrics', dailyCustomerMetrics(publishing)],
    ['daily_engagement_scores', dailyEngagementScores(publishing)],
    // 0021: the same refresh at 00:00 UTC, when the days the metrics count turn over.
    ['midnight_clock_metrics', dailyEngagementScores(publishing)],
    // sql_query segments run on a session of their own (DATABASE_URL)
    ['hourly_segment_refresh', hourlySegmentRefresh(databaseUrl)],
  ]);
}
