-- Up Migration
-- Two corrections to 0014, from review.
--
-- 1. refresh_first_order_flags() could pick the wrong first order when two transactions changed
--    one customer's orders at once (an order moved earlier on one partition while another order was
--    inserted on another): each saw the other's old ordered_at. The customers are now locked first,
--    in id order (the lock recompute_customer_order_metrics takes), so the second waits and sees the
--    first's orders. first_order_flag_changes() returns which orders changed, so a redemption whose
--    validity depends on "first order" can be judged again.
-- 2. An outbox row Kafka refuses for good (a record too large for its topic) is moved to
--    outbox_dead_letters with Kafka's error instead of holding up its topic for ever.

CREATE OR REPLACE FUNCTION first_order_flag_changes(customer_ids UUID[])
RETURNS SETOF UUID
LANGUAGE plpgsql
AS $$
BEGIN
    IF customer_ids IS NULL OR cardinality(customer_ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM customers WHERE id = ANY (customer_ids) ORDER BY id FOR NO KEY UPDATE;
    RETURN QUERY
    UPDATE customer_orders o
    SET is_first_order = f.first
    FROM (
        SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) = 1 AS first
        FROM customer_orders
        WHERE customer_id = ANY (customer_ids)
    ) f
    WHERE o.id = f.id AND o.is_first_order IS DISTINCT FROM f.first
    RETURNING o.id;
END;
$$;

CREATE OR REPLACE FUNCTION refresh_first_order_flags(customer_ids UUID[])
RETURNS INTEGER
LANGUAGE sql
AS $$
    SELECT count(*)::int FROM first_order_flag_changes(customer_ids);
$$;

CREATE TABLE outbox_dead_letters (
    id BIGINT PRIMARY KEY,
    change_id UUID NOT NULL,
    topic VARCHAR(249) NOT NULL,
    record_key TEXT,
    record_value BYTEA NOT NULL,
    producer VARCHAR(40) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    failed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    error TEXT NOT NULL
);

CREATE INDEX idx_outbox_producer_id ON outbox(producer, id);

-- Down Migration
DROP INDEX IF EXISTS idx_outbox_producer_id;
DROP TABLE IF EXISTS outbox_dead_letters;
CREATE OR REPLACE FUNCTION refresh_first_order_flags(customer_ids UUID[])
RETURNS INTEGER
LANGUAGE plpgsql
AS $$
DECLARE
    changed INTEGER;
BEGIN
    IF customer_ids IS NULL OR cardinality(customer_ids) = 0 THEN
        RETURN 0;
    END IF;
    UPDATE customer_orders o
    SET is_first_order = f.first
    FROM (
        SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) = 1 AS first
        FROM customer_orders
        WHERE customer_id = ANY (customer_ids)
    ) f
    WHERE o.id = f.id AND o.is_first_order IS DISTINCT FROM f.first;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;
DROP FUNCTION IF EXISTS first_order_flag_changes(UUID[]);
