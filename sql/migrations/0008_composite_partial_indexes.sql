-- Up Migration
-- Seed "Indexes & Performance": composite and partial indexes.
-- The customer_events ones are created on the partitioned parent.

-- Customer analytics queries
CREATE INDEX idx_customers_type_status_seen ON customers(customer_type, customer_status, last_seen_at);
CREATE INDEX idx_customers_revenue_ltv ON customers(total_revenue, lifetime_value) WHERE customer_status = 'active';
CREATE INDEX idx_customers_engagement_churn ON customers(engagement_score, churn_risk_score);

-- Event analytics
CREATE INDEX idx_customer_events_customer_occurred_type ON customer_events(customer_id, occurred_at, event_type);
CREATE INDEX idx_customer_events_type_occurred_value ON customer_events(event_type, occurred_at, event_value) WHERE event_value IS NOT NULL;

-- Campaign performance
CREATE INDEX idx_campaign_sends_campaign_status_sent ON campaign_sends(campaign_id, send_status, sent_at);
CREATE INDEX idx_campaign_sends_engagement_tracking ON campaign_sends(campaign_id, opened_at, first_click_at) WHERE opened_at IS NOT NULL;

-- Order analytics
CREATE INDEX idx_customer_orders_customer_ordered_total ON customer_orders(customer_id, ordered_at, order_total);
CREATE INDEX idx_customer_orders_status_ordered ON customer_orders(order_status, ordered_at) WHERE order_status = 'delivered';

-- Segmentation performance
CREATE INDEX idx_segment_memberships_segment_active ON segment_memberships(segment_id, is_active, added_at);

-- Cohort analysis
CREATE INDEX idx_cohort_retention_cohort_analysis ON cohort_retention_data(cohort_id, analysis_period, retention_rate);

-- Activity logging
CREATE INDEX idx_activity_logs_user_resource_occurred ON activity_logs(user_id, resource_type, occurred_at);

-- Active customers only
CREATE INDEX idx_customers_active_premium ON customers(total_revenue, lifetime_value)
WHERE customer_status = 'active' AND customer_type = 'premium';

-- Recent high-value orders
-- Correction: the seed's predicate "ordered_at > CURRENT_DATE - INTERVAL '30 days'" is illegal
-- (an index predicate must be immutable; CURRENT_DATE is not, and its meaning would drift
-- every day). The index keeps the immutable half of the predicate and leads with ordered_at,
-- so "ordered_at > <any recent cutoff> AND order_total > 100" is a range scan over the
-- high-value orders only; customer_id and order_total are carried along for index-only scans.
CREATE INDEX idx_orders_recent_high_value ON customer_orders(ordered_at, customer_id, order_total)
WHERE order_total > 100;

-- Engaged customers for targeting
CREATE INDEX idx_customers_engaged ON customers(id, last_seen_at)
WHERE engagement_score > 70 AND customer_status = 'active';

-- Active campaigns for monitoring
CREATE INDEX idx_campaigns_active_performance ON campaigns(id, start_date, total_sent, open_rate)
WHERE status = 'active';

-- Down Migration
DROP INDEX IF EXISTS idx_campaigns_active_performance;
DROP INDEX IF EXISTS idx_customers_engaged;
DROP INDEX IF EXISTS idx_orders_recent_high_value;
DROP INDEX IF EXISTS idx_customers_active_premium;
DROP INDEX IF EXISTS idx_activity_logs_user_resource_occurred;
DROP INDEX IF EXISTS idx_cohort_retention_cohort_analysis;
DROP INDEX IF EXISTS idx_segment_memberships_segment_active;
DROP INDEX IF EXISTS idx_customer_orders_status_ordered;
DROP INDEX IF EXISTS idx_customer_orders_customer_ordered_total;
DROP INDEX IF EXISTS idx_campaign_sends_engagement_tracking;
DROP INDEX IF EXISTS idx_campaign_sends_campaign_status_sent;
DROP INDEX IF EXISTS idx_customer_events_type_occurred_value;
DROP INDEX IF EXISTS idx_customer_events_customer_occurred_type;
DROP INDEX IF EXISTS idx_customers_engagement_churn;
DROP INDEX IF EXISTS idx_customers_revenue_ltv;
DROP INDEX IF EXISTS idx_customers_type_status_seen;
