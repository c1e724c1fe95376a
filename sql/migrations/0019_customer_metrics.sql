-- Up Migration
-- Customer metrics kept incrementally (services/shared/src/customers/metrics/): two small tables
-- that let a batch of events know what is new for a customer without reading its history, the one
-- column the lifecycle rules need that the seed lacks, and the contract's lifetime_value.

-- One row per customer and session id seen in its events: a batch's INSERT ... ON CONFLICT DO
-- NOTHING RETURNING tells which sessions are new, so total_sessions grows by exactly those.
CREATE TABLE customer_sessions (
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    session_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (customer_id, session_id)
);

-- One row per customer and UTC day with events. A new day is the only thing that can change the
-- gaps in a customer's activity (the lifecycle's churn and reactivation), so the gap analysis runs
-- for a customer only when a batch inserts a day here.
CREATE TABLE customer_activity_days (
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    day DATE NOT NULL,
    PRIMARY KEY (customer_id, day)
);

-- The first activity after the customer's latest gap of more than 90 days without any; NULL when
-- there never was such a gap. A fact of the activity alone (no clock), read by the lifecycle rules.
ALTER TABLE customers ADD COLUMN reactivated_at TIMESTAMP WITH TIME ZONE;

INSERT INTO customer_sessions (customer_id, session_id)
SELECT DISTINCT customer_id, session_id FROM customer_events WHERE session_id IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO customer_activity_days (customer_id, day)
SELECT DISTINCT customer_id, (occurred_at AT TIME ZONE 'UTC')::date FROM customer_events
ON CONFLICT DO NOTHING;

-- lifetime_value as the contract defines it: the money of orders that are confirmed, shipped or
-- delivered (refunded and cancelled orders count 0). 0010's version was delivered minus refunded.
CREATE OR REPLACE FUNCTION recompute_customer_order_metrics(customer_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed INTEGER;
BEGIN
    IF customer_ids IS NULL OR cardinality(customer_ids) = 0 THEN
        RETURN 0;
    END IF;

    PERFORM 1 FROM customers WHERE id = ANY (customer_ids) ORDER BY id FOR NO KEY UPDATE;

    UPDATE customers c
    SET total_orders = m.total_orders,
        total_revenue = m.total_revenue,
        average_order_value = m.average_order_value,
        lifetime_value = m.lifetime_value
    FROM (
        SELECT x.id,
               o.delivered_count AS total_orders,
               o.delivered_revenue AS total_revenue,
               CASE WHEN o.delivered_count > 0
                    THEN round(o.delivered_revenue / o.delivered_count, 2)
                    ELSE 0 END AS average_order_value,
               o.committed_total AS lifetime_value
        FROM (SELECT DISTINCT unnest(customer_ids) AS id) x
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE co.order_status = 'delivered')::int AS delivered_count,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status = 'delivered'), 0) AS delivered_revenue,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status IN ('confirmed', 'shipped', 'delivered')), 0) AS committed_total
            FROM customer_orders co
            WHERE co.customer_id = x.id
        ) o
    ) m
    WHERE c.id = m.id
      AND (c.total_orders, c.total_revenue, c.average_order_value, c.lifetime_value)
          IS DISTINCT FROM (m.total_orders, m.total_revenue, m.average_order_value, m.lifetime_value);

    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;

SELECT recompute_customer_order_metrics(array_agg(id)) FROM customers;

-- Down Migration
CREATE OR REPLACE FUNCTION recompute_customer_order_metrics(customer_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed INTEGER;
BEGIN
    IF customer_ids IS NULL OR cardinality(customer_ids) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM customers WHERE id = ANY (customer_ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE customers c
    SET total_orders = m.total_orders, total_revenue = m.total_revenue,
        average_order_value = m.average_order_value, lifetime_value = m.lifetime_value
    FROM (
        SELECT x.id, o.delivered_count AS total_orders, o.delivered_revenue AS total_revenue,
               CASE WHEN o.delivered_count > 0 THEN round(o.delivered_revenue / o.delivered_count, 2) ELSE 0 END AS average_order_value,
               o.delivered_revenue - o.refunded_total AS lifetime_value
        FROM (SELECT DISTINCT unnest(customer_ids) AS id) x
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE co.order_status = 'delivered')::int AS delivered_count,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status = 'delivered'), 0) AS delivered_revenue,
                   coalesce(sum(co.order_total) FILTER (WHERE co.order_status = 'refunded'), 0) AS refunded_total
            FROM customer_orders co WHERE co.customer_id = x.id
        ) o
    ) m
    WHERE c.id = m.id
      AND (c.total_orders, c.total_revenue, c.average_order_value, c.lifetime_value)
          IS DISTINCT FROM (m.total_orders, m.total_revenue, m.average_order_value, m.lifetime_value);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;
ALTER TABLE customers DROP COLUMN IF EXISTS reactivated_at;
DROP TABLE IF EXISTS customer_activity_days;
DROP TABLE IF EXISTS customer_sessions;
