-- Up Migration
-- Seed "Triggers for Automated Updates", corrected and completed.

-- updated_at maintenance: the seed's three tables ...
CREATE TRIGGER update_platform_users_updated_at BEFORE UPDATE ON platform_users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_customers_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_campaigns_updated_at BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- ... and (addition) every other seed table that has an updated_at column.
CREATE TRIGGER update_customer_orders_updated_at BEFORE UPDATE ON customer_orders
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_promotions_updated_at BEFORE UPDATE ON promotions
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_cohorts_updated_at BEFORE UPDATE ON cohorts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_segments_updated_at BEFORE UPDATE ON segments
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_dashboard_configurations_updated_at BEFORE UPDATE ON dashboard_configurations
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_dashboard_tiles_updated_at BEFORE UPDATE ON dashboard_tiles
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_kpi_definitions_updated_at BEFORE UPDATE ON kpi_definitions
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_data_connections_updated_at BEFORE UPDATE ON data_connections
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_system_settings_updated_at BEFORE UPDATE ON system_settings
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TRIGGER update_scheduled_jobs_updated_at BEFORE UPDATE ON scheduled_jobs
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- Customer order metrics. The seed had one row-level trigger
-- (update_customer_metrics_on_order, AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW).
-- It is replaced by statement-level triggers with transition tables, so a bulk upsert
-- of N orders recomputes each affected customer once. A trigger with transition tables
-- may fire on one event only, hence one trigger per event. INSERT ... ON CONFLICT DO
-- UPDATE fires both the INSERT and the UPDATE trigger, each with its own rows.
CREATE TRIGGER update_customer_metrics_on_order_insert
    AFTER INSERT ON customer_orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION update_customer_metrics();

CREATE TRIGGER update_customer_metrics_on_order_update
    AFTER UPDATE ON customer_orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION update_customer_metrics();

CREATE TRIGGER update_customer_metrics_on_order_delete
    AFTER DELETE ON customer_orders
    REFERENCING OLD TABLE AS old_orders
    FOR EACH STATEMENT EXECUTE FUNCTION update_customer_metrics();

CREATE TRIGGER update_customer_metrics_on_order_truncate
    AFTER TRUNCATE ON customer_orders
    FOR EACH STATEMENT EXECUTE FUNCTION update_customer_metrics();

-- Down Migration
DROP TRIGGER IF EXISTS update_customer_metrics_on_order_truncate ON customer_orders;
DROP TRIGGER IF EXISTS update_customer_metrics_on_order_delete ON customer_orders;
DROP TRIGGER IF EXISTS update_customer_metrics_on_order_update ON customer_orders;
DROP TRIGGER IF EXISTS update_customer_metrics_on_order_insert ON customer_orders;
DROP TRIGGER IF EXISTS update_scheduled_jobs_updated_at ON scheduled_jobs;
DROP TRIGGER IF EXISTS update_system_settings_updated_at ON system_settings;
DROP TRIGGER IF EXISTS update_data_connections_updated_at ON data_connections;
DROP TRIGGER IF EXISTS update_kpi_definitions_updated_at ON kpi_definitions;
DROP TRIGGER IF EXISTS update_dashboard_tiles_updated_at ON dashboard_tiles;
DROP TRIGGER IF EXISTS update_dashboard_configurations_updated_at ON dashboard_configurations;
DROP TRIGGER IF EXISTS update_segments_updated_at ON segments;
DROP TRIGGER IF EXISTS update_cohorts_updated_at ON cohorts;
DROP TRIGGER IF EXISTS update_promotions_updated_at ON promotions;
DROP TRIGGER IF EXISTS update_customer_orders_updated_at ON customer_orders;
DROP TRIGGER IF EXISTS update_campaigns_updated_at ON campaigns;
DROP TRIGGER IF EXISTS update_customers_updated_at ON customers;
DROP TRIGGER IF EXISTS update_platform_users_updated_at ON platform_users;
