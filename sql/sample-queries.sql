-- Sample implementation queries from the seed schema document ("Sample Implementation
-- Queries": dashboard KPIs, cohort analysis, segmentation), plus a select from each of
-- the three views, corrected for PostgreSQL 15 (see sql/README.md, "Sample queries").
-- Each query is preceded by a name marker line (two dashes, a space, "name:", the
-- kebab-case name) and is one statement ending with ";", so a test can split this file
-- on the markers and run each one.
-- All of them run on an empty database.

-- name: total-customers-comparison
-- Dashboard KPI: active customers now vs. those that already existed 30 days ago.
WITH current_total AS (
    SELECT COUNT(*) as count FROM customers WHERE customer_status = 'active'
),
previous_total AS (
    SELECT COUNT(*) as count FROM customers
    WHERE customer_status = 'active'
    AND created_at < CURRENT_DATE - INTERVAL '30 days'
)
SELECT
    ct.count as current_total,
    pt.count as previous_total,
    ct.count - pt.count as change,
    CASE WHEN pt.count > 0 THEN ((ct.count - pt.count)::decimal / pt.count) * 100 ELSE 0 END as percentage_change
FROM current_total ct, previous_total pt;

-- name: monthly-revenue-trend
-- Dashboard KPI: delivered revenue per month over the last 12 months.
SELECT
    DATE_TRUNC('month', ordered_at) as month,
    SUM(order_total) as revenue,
    COUNT(*) as orders,
    AVG(order_total) as avg_order_value,
    COUNT(DISTINCT customer_id) as unique_customers
FROM customer_orders
WHERE order_status = 'delivered'
AND ordered_at >= CURRENT_DATE - INTERVAL '12 months'
GROUP BY DATE_TRUNC('month', ordered_at)
ORDER BY month;

-- name: customer-lifecycle-distribution
-- Dashboard KPI: active customers per lifecycle stage.
SELECT
    lifecycle_stage,
    COUNT(*) as customer_count,
    ROUND((COUNT(*)::decimal / SUM(COUNT(*)) OVER ()) * 100, 2) as percentage,
    AVG(total_revenue) as avg_revenue,
    AVG(engagement_score) as avg_engagement
FROM customers
WHERE customer_status = 'active'
GROUP BY lifecycle_stage
ORDER BY customer_count DESC;

-- name: top-performing-campaigns
-- Dashboard KPI: top campaigns started in the last 30 days.
SELECT
    c.name,
    c.campaign_type,
    c.total_sent,
    c.total_opened,
    c.total_clicked,
    c.total_converted,
    c.total_revenue_attributed,
    ROUND((c.total_opened::decimal / NULLIF(c.total_sent, 0)) * 100, 2) as open_rate,
    ROUND((c.total_clicked::decimal / NULLIF(c.total_sent, 0)) * 100, 2) as click_rate,
    ROUND((c.total_converted::decimal / NULLIF(c.total_sent, 0)) * 100, 2) as conversion_rate
FROM campaigns c
WHERE c.start_date >= CURRENT_DATE - INTERVAL '30 days'
AND c.status IN ('active', 'completed')
ORDER BY c.total_revenue_attributed DESC
LIMIT 10;

-- name: monthly-retention-cohorts
-- Cohort analysis: share of each monthly signup cohort active N calendar months later.
-- Corrections: the period is counted in calendar months (the seed divided an epoch
-- difference by 30 days, giving fractions such as 0.93 for February); the cohort size
-- counts every customer of the cohort (the seed's LEFT JOIN + "occurred_at IS NOT NULL"
-- was an inner join, so customers without events vanished from the denominator); the
-- occurred_at bound lets the planner prune customer_events partitions.
WITH cohort_customers AS (
    SELECT
        c.id as customer_id,
        DATE_TRUNC('month', c.first_seen_at) as cohort_month
    FROM customers c
    WHERE c.first_seen_at >= '2024-01-01'
),
cohort_sizes AS (
    SELECT
        cohort_month,
        COUNT(*) as cohort_size
    FROM cohort_customers
    GROUP BY cohort_month
),
cohort_data AS (
    SELECT
        cc.customer_id,
        cc.cohort_month,
        DATE_TRUNC('month', ce.occurred_at) as event_month,
        ((EXTRACT(year FROM DATE_TRUNC('month', ce.occurred_at)) - EXTRACT(year FROM cc.cohort_month)) * 12
         + EXTRACT(month FROM DATE_TRUNC('month', ce.occurred_at)) - EXTRACT(month FROM cc.cohort_month))::int as period_number
    FROM cohort_customers cc
    JOIN customer_events ce ON ce.customer_id = cc.customer_id
    WHERE ce.occurred_at >= '2024-01-01'
),
retention_data AS (
    SELECT
        cohort_month,
        period_number,
        COUNT(DISTINCT customer_id) as retained_customers
    FROM cohort_data
    WHERE period_number >= 0
    GROUP BY cohort_month, period_number
)
SELECT
    cs.cohort_month,
    cs.cohort_size,
    rd.period_number,
    rd.retained_customers,
    ROUND((rd.retained_customers::decimal / cs.cohort_size) * 100, 2) as retention_rate
FROM cohort_sizes cs
JOIN retention_data rd ON cs.cohort_month = rd.cohort_month
ORDER BY cs.cohort_month, rd.period_number;

-- name: revenue-cohorts
-- Cohort analysis: delivered revenue of each monthly signup cohort by calendar month.
-- Corrections: calendar-month periods (not 30-day fractions); the join is written as the
-- inner join it always was (the seed's WHERE on co.order_status turned its LEFT JOIN
-- into one); avg_revenue_per_customer is revenue / active customers (the seed's
-- AVG(order_total) was the average per order).
WITH revenue_cohorts AS (
    SELECT
        c.id as customer_id,
        DATE_TRUNC('month', c.first_seen_at) as cohort_month,
        DATE_TRUNC('month', co.ordered_at) as order_month,
        ((EXTRACT(year FROM DATE_TRUNC('month', co.ordered_at)) - EXTRACT(year FROM DATE_TRUNC('month', c.first_seen_at))) * 12
         + EXTRACT(month FROM DATE_TRUNC('month', co.ordered_at)) - EXTRACT(month FROM DATE_TRUNC('month', c.first_seen_at)))::int as period_number,
        co.order_total
    FROM customers c
    JOIN customer_orders co ON c.id = co.customer_id AND co.order_status = 'delivered'
    WHERE c.first_seen_at >= '2024-01-01'
)
SELECT
    cohort_month,
    period_number,
    COUNT(DISTINCT customer_id) as active_customers,
    SUM(order_total) as total_revenue,
    ROUND(SUM(order_total) / COUNT(DISTINCT customer_id), 2) as avg_revenue_per_customer,
    SUM(SUM(order_total)) OVER (PARTITION BY cohort_month ORDER BY period_number) as cumulative_revenue
FROM revenue_cohorts
WHERE period_number >= 0
GROUP BY cohort_month, period_number
ORDER BY cohort_month, period_number;

-- name: high-value-customers
-- Segmentation: active, recently seen, engaged customers with >= 1000 revenue.
SELECT
    c.id,
    c.customer_id,
    c.name,
    c.email,
    c.total_revenue,
    c.lifetime_value,
    c.total_orders,
    c.last_seen_at,
    c.engagement_score
FROM customers c
WHERE c.customer_status = 'active'
AND c.total_revenue >= 1000
AND c.last_seen_at >= CURRENT_DATE - INTERVAL '30 days'
AND c.engagement_score >= 70
ORDER BY c.total_revenue DESC;

-- name: at-risk-customers
-- Segmentation: high-value customers with declining engagement.
-- Correction: CURRENT_DATE - last_seen_at::date is already an integer number of days;
-- EXTRACT(days FROM <integer>) does not exist.
SELECT
    c.id,
    c.customer_id,
    c.name,
    c.email,
    c.total_revenue,
    c.last_seen_at,
    c.engagement_score,
    c.churn_risk_score,
    (CURRENT_DATE - c.last_seen_at::date) as days_since_last_seen
FROM customers c
WHERE c.customer_status = 'active'
AND c.total_revenue >= 500  -- High value
AND (
    c.churn_risk_score >= 70 OR
    c.last_seen_at < CURRENT_DATE - INTERVAL '14 days' OR
    c.engagement_score < 30
)
ORDER BY c.churn_risk_score DESC, c.total_revenue DESC;

-- name: new-customers-needing-onboarding
-- Segmentation: customers first seen in the last 7 days, still 'new', with < 5 events.
SELECT
    c.id,
    c.customer_id,
    c.name,
    c.email,
    c.first_seen_at,
    c.total_orders,
    c.lifecycle_stage,
    COUNT(ce.id) as total_events
FROM customers c
LEFT JOIN customer_events ce ON c.id = ce.customer_id
WHERE c.first_seen_at >= CURRENT_DATE - INTERVAL '7 days'
AND c.lifecycle_stage = 'new'
GROUP BY c.id, c.customer_id, c.name, c.email, c.first_seen_at, c.total_orders, c.lifecycle_stage
HAVING COUNT(ce.id) < 5  -- Low engagement
ORDER BY c.first_seen_at DESC;

-- name: customer-summary-view
-- View customer_summary: most recently seen customers.
SELECT *
FROM customer_summary
ORDER BY last_seen_at DESC NULLS LAST
LIMIT 100;

-- name: campaign-performance-summary-view
-- View campaign_performance_summary: campaigns by start date.
SELECT *
FROM campaign_performance_summary
ORDER BY start_date DESC NULLS LAST
LIMIT 100;

-- name: daily-metrics-summary-view
-- View daily_metrics_summary: the last 90 days, newest first.
SELECT *
FROM daily_metrics_summary;
