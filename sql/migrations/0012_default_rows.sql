-- Up Migration
-- The seed's default rows: role permissions (section 3), system settings (section 22),
-- scheduled jobs (section 23). Values exactly as in the seed.

INSERT INTO role_permissions (role, permission, resource, action) VALUES
-- Super Admin - Full access
('super_admin', 'platform_management', '*', '*'),

-- Admin - Most access except platform management
('admin', 'user_management', 'platform_users', 'create'),
('admin', 'user_management', 'platform_users', 'read'),
('admin', 'user_management', 'platform_users', 'update'),
('admin', 'user_management', 'platform_users', 'delete'),
('admin', 'customer_data', '*', '*'),
('admin', 'campaign_management', '*', '*'),
('admin', 'dashboard_management', '*', '*'),

-- Marketing Manager - Campaign and customer focused
('marketing_manager', 'customer_data', 'customers', 'read'),
('marketing_manager', 'campaign_management', '*', '*'),
('marketing_manager', 'segmentation', '*', '*'),
('marketing_manager', 'promotions', '*', '*'),
('marketing_manager', 'dashboard_management', 'marketing_tiles', '*'),

-- Data Analyst - Analytics focused
('data_analyst', 'customer_data', '*', 'read'),
('data_analyst', 'analytics', '*', '*'),
('data_analyst', 'cohort_analysis', '*', '*'),
('data_analyst', 'dashboard_management', 'analytics_tiles', '*'),
('data_analyst', 'data_connections', '*', 'read'),

-- Viewer - Read only
('viewer', 'customer_data', '*', 'read'),
('viewer', 'analytics', '*', 'read'),
('viewer', 'dashboard_management', '*', 'read');

INSERT INTO system_settings (setting_key, setting_value, category, description) VALUES
('platform.max_dashboard_tiles', '50', 'limits', 'Maximum number of tiles per dashboard'),
('platform.max_segments_per_user', '100', 'limits', 'Maximum segments a user can create'),
('platform.session_timeout_hours', '24', 'security', 'Platform user session timeout'),
('email.default_sender_name', '"CDP Platform"', 'email', 'Default sender name for system emails'),
('features.advanced_analytics', 'true', 'features', 'Enable advanced analytics features'),
('features.external_integrations', 'true', 'features', 'Enable external data connections'),
('campaign.max_recipients', '100000', 'limits', 'Maximum recipients per campaign'),
('cohort.max_retention_periods', '24', 'limits', 'Maximum retention periods to calculate');

INSERT INTO scheduled_jobs (job_name, job_type, cron_expression, job_config) VALUES
('daily_customer_metrics', 'metric_calculation', '0 2 * * *', '{"metrics": ["total_customers", "daily_revenue", "retention_rates"]}'),
('hourly_segment_refresh', 'segment_update', '0 * * * *', '{"refresh_dynamic_segments": true}'),
('weekly_cohort_analysis', 'cohort_refresh', '0 3 * * 1', '{"recalculate_all": false, "periods_to_update": 3}'),
('daily_engagement_scores', 'metric_calculation', '0 4 * * *', '{"calculate_engagement": true, "calculate_churn_risk": true}');

-- Down Migration
DELETE FROM scheduled_jobs WHERE job_name IN ('daily_customer_metrics', 'hourly_segment_refresh', 'weekly_cohort_analysis', 'daily_engagement_scores');
DELETE FROM system_settings WHERE setting_key IN ('platform.max_dashboard_tiles', 'platform.max_segments_per_user', 'platform.session_timeout_hours', 'email.default_sender_name', 'features.advanced_analytics', 'features.external_integrations', 'campaign.max_recipients', 'cohort.max_retention_periods');
DELETE FROM role_permissions WHERE (role, permission, resource, action) IN (
    ('super_admin', 'platform_management', '*', '*'),
    ('admin', 'user_management', 'platform_users', 'create'),
    ('admin', 'user_management', 'platform_users', 'read'),
    ('admin', 'user_management', 'platform_users', 'update'),
    ('admin', 'user_management', 'platform_users', 'delete'),
    ('admin', 'customer_data', '*', '*'),
    ('admin', 'campaign_management', '*', '*'),
    ('admin', 'dashboard_management', '*', '*'),
    ('marketing_manager', 'customer_data', 'customers', 'read'),
    ('marketing_manager', 'campaign_management', '*', '*'),
    ('marketing_manager', 'segmentation', '*', '*'),
    ('marketing_manager', 'promotions', '*', '*'),
    ('marketing_manager', 'dashboard_management', 'marketing_tiles', '*'),
    ('data_analyst', 'customer_data', '*', 'read'),
    ('data_analyst', 'analytics', '*', '*'),
    ('data_analyst', 'cohort_analysis', '*', '*'),
    ('data_analyst', 'dashboard_management', 'analytics_tiles', '*'),
    ('data_analyst', 'data_connections', '*', 'read'),
    ('viewer', 'customer_data', '*', 'read'),
    ('viewer', 'analytics', '*', 'read'),
    ('viewer', 'dashboard_management', '*', 'read')
);
