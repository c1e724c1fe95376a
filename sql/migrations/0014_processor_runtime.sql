-- Up Migration
-- The processor runtime's additions (not in the seed): the transactional outbox through which
-- processors publish derived records (cdp.customer-changes, cdp.segment-changes) exactly once,
-- and the is_first_order rule shared by the orders processor and profile merges.

-- A derived record is written here in the same transaction as the change it describes; the
-- runtime's relay produces it to Kafka (acks=all) and then deletes it. A crash between the
-- produce and the delete produces it again with the same change_id, which consumers de-duplicate
-- on (it travels as the `cdp-change-id` header and inside the value). id orders the relay.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    change_id UUID NOT NULL UNIQUE,
    topic VARCHAR(249) NOT NULL,
    record_key TEXT,
    record_value BYTEA NOT NULL,
    producer VARCHAR(40) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

-- is_first_order is true for exactly the earliest order of each customer (ordered_at, then
-- order_id for a tie), whatever order the orders arrived in. Rows are updated only where the flag
-- changes, so the statement is cheap when nothing moved.
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

-- Down Migration
DROP FUNCTION IF EXISTS refresh_first_order_flags(UUID[]);
DROP TABLE IF EXISTS outbox;
