-- Up Migration
-- The campaigns processor's additions (services/campaigns/README.md) and two corrections to the
-- seed's campaigns table. What keeps which column is described in sql/README.md, "Campaigns".

-- Each provider event applied, once per (source, messageId): the permanent de-duplication of
-- provider events (a webhook retried days later still counts once), the history every send is
-- folded from (so arrival order does not matter), and the clicks that last-click attribution reads.
CREATE TABLE campaign_send_events (
    source_key VARCHAR(100) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    variant VARCHAR(50),
    event VARCHAR(20) NOT NULL CHECK (event IN ('sent', 'delivered', 'bounced', 'failed', 'opened',
        'clicked', 'unsubscribed', 'complained', 'converted')),
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    url TEXT,
    value DECIMAL(12,2),
    reason VARCHAR(500),
    PRIMARY KEY (source_key, message_id)
);

-- A send's events (the fold), and a customer's events by time (clicks for attribution, merges).
CREATE INDEX idx_campaign_send_events_send ON campaign_send_events(campaign_id, customer_id, variant);
CREATE INDEX idx_campaign_send_events_customer ON campaign_send_events(customer_id, occurred_at);

-- The time of the latest bounce and failure, whose reasons bounce_reason / failure_reason keep.
ALTER TABLE campaign_sends
    ADD COLUMN bounced_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN failed_at TIMESTAMP WITH TIME ZONE;

-- One row per order: the order's attribution decision, so each order converts at most one send,
-- once, whatever number of times the order is updated; a decision changes only when the order or
-- the clicks and sends it depends on change (refund, late click, merge).
CREATE TABLE campaign_conversions (
    order_id VARCHAR(100) PRIMARY KEY, -- customer_orders.order_id
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    ordered_at TIMESTAMP WITH TIME ZONE NOT NULL,
    order_status VARCHAR(50) NOT NULL,
    order_total DECIMAL(12,2) NOT NULL,
    -- 'campaign_id': the order named the campaign; 'last_click': the customer's latest click within
    -- the attribution window; 'pending': the order names a campaign whose send to this customer
    -- has not gone out (yet); 'none': no campaign and no click in the window.
    attribution VARCHAR(20) NOT NULL CHECK (attribution IN ('campaign_id', 'last_click', 'pending', 'none')),
    campaign_id UUID,
    variant VARCHAR(50),
    clicked_at TIMESTAMP WITH TIME ZONE,
    -- Counted on the send: attributed and neither refunded nor cancelled; value = order_total then, else 0.
    counted BOOLEAN NOT NULL,
    value DECIMAL(12,2) NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE INDEX idx_campaign_conversions_send ON campaign_conversions(campaign_id, customer_id, variant)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX idx_campaign_conversions_customer ON campaign_conversions(customer_id);

-- Counters and rates per A/B variant (variant NULL: sends without one); the campaign's own columns
-- are the sum over its variants.
CREATE TABLE campaign_variant_performance (
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    variant VARCHAR(50),
    total_sent INTEGER NOT NULL DEFAULT 0,
    total_delivered INTEGER NOT NULL DEFAULT 0,
    total_bounced INTEGER NOT NULL DEFAULT 0,
    total_opened INTEGER NOT NULL DEFAULT 0,
    total_clicked INTEGER NOT NULL DEFAULT 0,
    total_unsubscribed INTEGER NOT NULL DEFAULT 0,
    total_converted INTEGER NOT NULL DEFAULT 0,
    total_revenue_attributed DECIMAL(12,2) NOT NULL DEFAULT 0,
    delivery_rate DECIMAL(5,4) NOT NULL DEFAULT 0,
    open_rate DECIMAL(5,4) NOT NULL DEFAULT 0,
    click_rate DECIMAL(5,4) NOT NULL DEFAULT 0,
    conversion_rate DECIMAL(5,4) NOT NULL DEFAULT 0,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (campaign_id, variant)
);

-- Where unsubscribes and spam complaints mark the customer, per channel (campaigns.campaign_type):
-- a campaign's targeting (total_targeted below) leaves these customers out.
CREATE TABLE campaign_suppressions (
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel VARCHAR(50) NOT NULL,
    unsubscribed_at TIMESTAMP WITH TIME ZONE,
    complained_at TIMESTAMP WITH TIME ZONE,
    campaign_id UUID REFERENCES campaigns(id) ON DELETE SET NULL, -- the first campaign that caused it
    PRIMARY KEY (customer_id, channel)
);

-- The one definition of what a send counts for (invariant 4 compares the stored counters with
-- this); services/shared/src/campaigns/contribution.ts is the same rule for one row.
CREATE VIEW campaign_send_counts AS
SELECT
    campaign_id,
    variant,
    count(*) FILTER (WHERE send_status IN ('sent', 'delivered', 'bounced'))::int AS total_sent,
    count(*) FILTER (WHERE send_status = 'delivered')::int AS total_delivered,
    count(*) FILTER (WHERE send_status = 'bounced')::int AS total_bounced,
    count(*) FILTER (WHERE opened_at IS NOT NULL)::int AS total_opened,
    count(*) FILTER (WHERE coalesce(total_clicks, 0) > 0)::int AS total_clicked,
    count(*) FILTER (WHERE unsubscribed_at IS NOT NULL)::int AS total_unsubscribed,
    count(*) FILTER (WHERE converted_at IS NOT NULL)::int AS total_converted,
    coalesce(sum(conversion_value) FILTER (WHERE converted_at IS NOT NULL), 0)::decimal(12,2) AS total_revenue_attributed
FROM campaign_sends
GROUP BY campaign_id, variant;

-- A stored rate: a fraction with four decimals, 0 without a denominator. The pipeline's counters
-- keep every numerator within its denominator; the cap only keeps hand-edited data from
-- overflowing DECIMAL(5,4).
CREATE FUNCTION campaign_rate(numerator NUMERIC, denominator NUMERIC)
RETURNS DECIMAL(5,4)
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN denominator > 0 THEN least(round(numerator / denominator, 4), 9.9999) ELSE 0 END;
$$;

-- Correction: roi was DECIMAL(8,4), so a campaign returning more than 10,000 times its budget
-- (a small budget) could not store its roi and its counters would stop. Revenue is at most
-- DECIMAL(12,2) and a budget at least 0.01, so DECIMAL(16,4) holds every roi.
ALTER TABLE campaigns ALTER COLUMN roi TYPE DECIMAL(16,4);

-- roi = (revenue - budget) / budget, 0 without a budget.
CREATE FUNCTION campaign_roi(revenue NUMERIC, budget NUMERIC)
RETURNS DECIMAL(16,4)
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN budget > 0 THEN round((revenue - budget) / budget, 4) ELSE 0 END;
$$;

-- Counters from scratch, for repairs and for campaigns whose sends were edited by hand:
-- SELECT recount_campaigns(array_agg(id)) FROM campaigns;
CREATE FUNCTION recount_campaigns(campaign_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed INTEGER;
BEGIN
    PERFORM 1 FROM campaigns WHERE id = ANY (campaign_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM campaign_variant_performance v
    WHERE v.campaign_id = ANY (campaign_ids)
      AND NOT EXISTS (SELECT 1 FROM campaign_sends s
                      WHERE s.campaign_id = v.campaign_id AND s.variant IS NOT DISTINCT FROM v.variant);
    INSERT INTO campaign_variant_performance AS v (campaign_id, variant, total_sent, total_delivered,
        total_bounced, total_opened, total_clicked, total_unsubscribed, total_converted,
        total_revenue_attributed, delivery_rate, open_rate, click_rate, conversion_rate)
    SELECT n.campaign_id, n.variant, n.total_sent, n.total_delivered, n.total_bounced, n.total_opened,
           n.total_clicked, n.total_unsubscribed, n.total_converted, n.total_revenue_attributed,
           campaign_rate(n.total_delivered, n.total_sent), campaign_rate(n.total_opened, n.total_delivered),
           campaign_rate(n.total_clicked, n.total_delivered), campaign_rate(n.total_converted, n.total_sent)
    FROM campaign_send_counts n WHERE n.campaign_id = ANY (campaign_ids)
    ON CONFLICT (campaign_id, variant) DO UPDATE SET
        total_sent = EXCLUDED.total_sent, total_delivered = EXCLUDED.total_delivered,
        total_bounced = EXCLUDED.total_bounced, total_opened = EXCLUDED.total_opened,
        total_clicked = EXCLUDED.total_clicked, total_unsubscribed = EXCLUDED.total_unsubscribed,
        total_converted = EXCLUDED.total_converted,
        total_revenue_attributed = EXCLUDED.total_revenue_attributed,
        delivery_rate = EXCLUDED.delivery_rate, open_rate = EXCLUDED.open_rate,
        click_rate = EXCLUDED.click_rate, conversion_rate = EXCLUDED.conversion_rate, updated_at = now();
    WITH t AS (
        SELECT x.id,
               coalesce(sum(n.total_sent), 0)::int AS sent, coalesce(sum(n.total_delivered), 0)::int AS delivered,
               coalesce(sum(n.total_bounced), 0)::int AS bounced, coalesce(sum(n.total_opened), 0)::int AS opened,
               coalesce(sum(n.total_clicked), 0)::int AS clicked,
               coalesce(sum(n.total_unsubscribed), 0)::int AS unsubscribed,
               coalesce(sum(n.total_converted), 0)::int AS converted,
               coalesce(sum(n.total_revenue_attributed), 0) AS revenue
        FROM unnest(campaign_ids) AS x(id) LEFT JOIN campaign_send_counts n ON n.campaign_id = x.id
        GROUP BY x.id
    )
    UPDATE campaigns c SET
        total_sent = t.sent, total_delivered = t.delivered, total_bounced = t.bounced,
        total_opened = t.opened, total_clicked = t.clicked, total_unsubscribed = t.unsubscribed,
        total_converted = t.converted, total_revenue_attributed = t.revenue,
        delivery_rate = campaign_rate(t.delivered, t.sent), open_rate = campaign_rate(t.opened, t.delivered),
        click_rate = campaign_rate(t.clicked, t.delivered), conversion_rate = campaign_rate(t.converted, t.sent),
        roi = campaign_roi(t.revenue, c.budget)
    FROM t WHERE c.id = t.id;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;

-- roi follows a budget that changes (the counters' writers set it only when revenue changes).
CREATE FUNCTION campaign_roi_on_budget() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.roi := campaign_roi(coalesce(NEW.total_revenue_attributed, 0), NEW.budget);
    RETURN NEW;
END;
$$;

CREATE TRIGGER campaign_roi_on_budget BEFORE INSERT OR UPDATE OF budget ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_roi_on_budget();

-- total_targeted: counted when a campaign becomes active (inserted active, or moved to active from
-- another status): the customers of target_segments (active memberships) less those of
-- exclusion_segments and those suppressed on the campaign's channel; every customer for
-- 'all_customers'; the customers target_filters selects (the segment criteria language) for
-- 'custom_filter'. An 'uploaded_list' campaign keeps the total its uploader wrote.
CREATE FUNCTION campaign_target_count(c campaigns)
RETURNS INTEGER
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    n INTEGER;
    audience TEXT := coalesce(c.target_audience_type, 'segment');
    filter_sql TEXT := 'true';
BEGIN
    IF audience = 'uploaded_list' THEN
        RETURN c.total_targeted;
    END IF;
    IF audience = 'custom_filter' THEN
        filter_sql := segment_criteria_to_sql(coalesce(c.target_filters, '{}'::jsonb));
    END IF;
    EXECUTE format(
        $q$SELECT count(*)::int FROM customers cu
           WHERE (%s)
             AND ($1 IN ('all_customers', 'custom_filter') OR EXISTS (
                   SELECT 1 FROM segment_memberships m
                   WHERE m.customer_id = cu.id AND m.segment_id = ANY ($2) AND m.is_active IS NOT FALSE))
             AND NOT EXISTS (
                   SELECT 1 FROM segment_memberships m
                   WHERE m.customer_id = cu.id AND m.segment_id = ANY ($3) AND m.is_active IS NOT FALSE)
             AND NOT EXISTS (
                   SELECT 1 FROM campaign_suppressions s
                   WHERE s.customer_id = cu.id AND s.channel = $4)$q$,
        filter_sql)
    INTO n
    USING audience, coalesce(c.target_segments, '{}'::uuid[]), coalesce(c.exclusion_segments, '{}'::uuid[]),
          c.campaign_type;
    RETURN n;
END;
$$;

CREATE FUNCTION campaign_targeted_on_activation() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.status = 'active' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'active') THEN
        NEW.total_targeted := campaign_target_count(NEW);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER campaign_targeted_on_activation BEFORE INSERT OR UPDATE OF status ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_targeted_on_activation();

-- The attribution window for orders without a campaign_id, a setting shared by the orders and the
-- campaigns processors (both attribute; an environment variable could differ between them).
INSERT INTO system_settings (setting_key, setting_value, category, setting_type, data_type, description)
VALUES ('campaign.attribution_window_days', '7', 'campaigns', 'config', 'number',
        'An order without a campaign_id converts the customer''s latest campaign click at most this many days before it');

CREATE FUNCTION campaign_attribution_window()
RETURNS INTERVAL
LANGUAGE sql
STABLE
AS $$
    SELECT make_interval(secs => coalesce(
        (SELECT (setting_value #>> '{}')::numeric FROM system_settings
         WHERE setting_key = 'campaign.attribution_window_days'), 7) * 86400);
$$;

-- Down Migration
DROP FUNCTION IF EXISTS campaign_attribution_window();
DELETE FROM system_settings WHERE setting_key = 'campaign.attribution_window_days';
DROP TRIGGER IF EXISTS campaign_targeted_on_activation ON campaigns;
DROP FUNCTION IF EXISTS campaign_targeted_on_activation();
DROP FUNCTION IF EXISTS campaign_target_count(campaigns);
DROP TRIGGER IF EXISTS campaign_roi_on_budget ON campaigns;
DROP FUNCTION IF EXISTS campaign_roi_on_budget();
DROP FUNCTION IF EXISTS recount_campaigns(UUID[]);
DROP FUNCTION IF EXISTS campaign_roi(NUMERIC, NUMERIC);
ALTER TABLE campaigns ALTER COLUMN roi TYPE DECIMAL(8,4);
DROP FUNCTION IF EXISTS campaign_rate(NUMERIC, NUMERIC);
DROP VIEW IF EXISTS campaign_send_counts;
DROP TABLE IF EXISTS campaign_suppressions;
DROP TABLE IF EXISTS campaign_variant_performance;
DROP TABLE IF EXISTS campaign_conversions;
ALTER TABLE campaign_sends DROP COLUMN IF EXISTS failed_at, DROP COLUMN IF EXISTS bounced_at;
DROP TABLE IF EXISTS campaign_send_events;
