-- Up Migration
-- Seed "Analytical Views for Common Queries".

-- Customer summary view
CREATE VIEW customer_summary AS
SELECT
    c.id,
    c.customer_id,
    c.email,
    c.name,
    c.customer_type,
    c.customer_status,
    c.lifecycle_stage,
    c.total_orders,
    c.total_revenue,
    c.lifetime_value,
    c.engagement_score,
    c.churn_risk_score,
    c.first_seen_at,
    c.last_seen_at,
    -- Correction: date - date is already an integer number of days; the seed's
    -- EXTRACT(days FROM <integer>) does not exist.
    (CURRENT_DATE - c.last_seen_at::date) as days_since_last_seen,
    -- Recent activity indicators
    EXISTS(
        SELECT 1 FROM customer_events ce
        WHERE ce.customer_id = c.id
        AND ce.occurred_at > CURRENT_DATE - INTERVAL '7 days'
    ) as active_last_7_days,
    EXISTS(
        SELECT 1 FROM customer_orders co
        WHERE co.customer_id = c.id
        AND co.ordered_at > CURRENT_DATE - INTERVAL '30 days'
    ) as purchased_last_30_days
FROM customers c;

-- Campaign performance summary
CREATE VIEW campaign_performance_summary AS
SELECT
    c.id,
    c.name,
    c.campaign_type,
    c.status,
    c.start_date,
    c.end_date,
    c.total_sent,
    c.total_delivered,
    c.total_opened,
    c.total_clicked,
    c.total_converted,
    -- Calculated rates
    CASE WHEN c.total_sent > 0 THEN (c.total_delivered::decimal / c.total_sent) * 100 ELSE 0 END as delivery_rate,
    CASE WHEN c.total_delivered > 0 THEN (c.total_opened::decimal / c.total_delivered) * 100 ELSE 0 END as open_rate,
    CASE WHEN c.total_delivered > 0 THEN (c.total_clicked::decimal / c.total_delivered) * 100 ELSE 0 END as click_rate,
    CASE WHEN c.total_sent > 0 THEN (c.total_converted::decimal / c.total_sent) * 100 ELSE 0 END as conversion_rate,
    -- ROI calculation
    CASE WHEN c.budget > 0 THEN (c.total_revenue_attributed - c.budget) / c.budget * 100 ELSE NULL END as roi_percentage
FROM campaigns c;

-- Daily metrics rollup
CREATE VIEW daily_metrics_summary AS
SELECT
    date_trunc('day', occurred_at)::date as metric_date,
    COUNT(DISTINCT customer_id) as daily_active_customers,
    COUNT(*) as total_events,
    COUNT(*) FILTER (WHERE event_type = 'purchase') as purchases,
    SUM(event_value) FILTER (WHERE event_type = 'purchase') as daily_revenue,
    COUNT(DISTINCT customer_id) FILTER (WHERE event_type = 'signup') as new_signups
FROM customer_events
WHERE occurred_at >= CURRENT_DATE - INTERVAL '90 days'
GROUP BY date_trunc('day', occurred_at)::date
ORDER BY metric_date DESC;

-- Down Migration
DROP VIEW IF EXISTS daily_metrics_summary;
DROP VIEW IF EXISTS campaign_performance_summary;
DROP VIEW IF EXISTS customer_summary;
