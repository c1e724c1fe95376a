-- Up Migration
-- Two additions from review.
--
-- 1. The clock-driven customer metrics (days since, scores, lifecycle stage, age group) count UTC
--    days, so they move at 00:00 UTC; the seed's daily_engagement_scores row runs at 04:00. This
--    row runs the same refresh right after midnight, so the stored values lag the day only while
--    it runs (invariant 2 holds whenever the pipeline is idle, and a due job is work pending).
-- 2. Campaigns that already had sends when 0020 was applied (an import, seed data) get their
--    counters and variant rows counted once; from then on they change by differences.

INSERT INTO scheduled_jobs (job_name, job_type, cron_expression, timezone, job_config)
VALUES ('midnight_clock_metrics', 'metric_calculation', '0 0 * * *', 'UTC',
        '{"calculate_engagement": true, "calculate_churn_risk": true, "lifecycle_stage": true}')
ON CONFLICT (job_name) DO NOTHING;

SELECT recount_campaigns(array_agg(id)) FROM campaigns;

-- Down Migration
DELETE FROM scheduled_jobs WHERE job_name = 'midnight_clock_metrics';
