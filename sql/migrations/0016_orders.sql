-- Up Migration
-- The orders processor's additions (not in the seed).

-- Per-order state: every record of an order (cdp.orders, or an e-commerce track on cdp.events)
-- is merged into its row, field by field, the latest event time winning (services/orders/README.md).
-- customer_orders and its items are written from this state once it holds an order_total; until
-- then the order is parked here, so an update that arrives before its order is kept, not lost.
-- The merge is commutative, so the rows do not depend on the order the records arrive in.
CREATE TABLE order_state (
    order_id VARCHAR(100) PRIMARY KEY,
    state JSONB NOT NULL,
    parked BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

-- Orders still waiting for their order_total, oldest first.
CREATE INDEX idx_order_state_parked ON order_state(updated_at) WHERE parked;

-- The processor finds an order's redemptions by order; the seed indexes only promotion and customer.
CREATE INDEX idx_promotion_redemptions_order_id ON promotion_redemptions(order_id);

-- Down Migration
DROP INDEX IF EXISTS idx_promotion_redemptions_order_id;
DROP TABLE IF EXISTS order_state;
