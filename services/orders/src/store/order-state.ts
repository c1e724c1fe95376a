/** order_state (0016): one row per order_id, the merged state of every record of that order. */
import type { Tx } from '../../../shared/src/pg/gateway.js';
import type { OrderState } from '../state/merge.js';

export interface StoredState {
  state: OrderState;
  /** True when this transaction created the row (its state is the one passed in). */
  inserted: boolean;
}

/**
 * Locks the states of `orders`, creating the missing ones with the state given (what the batch's
 * records alone make of a new order). One statement, in order_id order: two transactions (say one
 * on cdp.orders and one on cdp.events) touching the same orders lock them in the same order, and
 * one waits for the other's commit, then merges into what it wrote.
 */
export async function lockStates(
  tx: Tx,
  orders: readonly { orderId: string; state: OrderState; parked: boolean }[],
): Promise<Map<string, StoredState>> {
  const sorted = [...orders].sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
  const { rows } = await tx.query<{ order_id: string; state: OrderState; inserted: boolean }>(
    'orders.lock-states',
    `INSERT INTO order_state (order_id, state, parked)
     SELECT * FROM unnest($1::text[], $2::jsonb[], $3::boolean[]) ORDER BY 1
     ON CONFLICT (order_id) DO UPDATE SET parked = order_state.parked
     RETURNING order_id, state, (xmax = 0) AS inserted`,
    [sorted.map((o) => o.orderId), sorted.map((o) => JSON.stringify(o.state)), sorted.map((o) => o.parked)],
  );
  return new Map(rows.map((r) => [r.order_id, { state: r.state, inserted: r.inserted }]));
}

export async function saveStates(
  tx: Tx,
  orders: readonly { orderId: string; state: OrderState; parked: boolean }[],
): Promise<void> {
  if (orders.length === 0) return;
  await tx.query(
    'orders.save-states',
    `UPDATE order_state s SET state = u.state, parked = u.parked, updated_at = now()
     FROM unnest($1::text[], $2::jsonb[], $3::boolean[]) AS u(order_id, state, parked)
     WHERE s.order_id = u.order_id`,
    [orders.map((o) => o.orderId), orders.map((o) => JSON.stringify(o.state)), orders.map((o) => o.parked)],
  );
}
