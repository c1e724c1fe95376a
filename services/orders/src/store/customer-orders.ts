/**
 * customer_orders and customer_order_items, written from states. Rows go in as one JSON array
 * through jsonb_populate_recordset, so the column list comes from the column table (fields.ts)
 * instead of being spelled out per type.
 */
import type { Tx } from '../../../shared/src/pg/gateway.js';
import { FIELD_NAMES, type OrderItem } from '../mapping/fields.js';
import { moneyText } from '../../../shared/src/records/money.js';
import type { OrderColumns } from '../state/order-row.js';

export interface OrderRow extends OrderColumns {
  order_id: string;
  customer_id: string;
}

export interface WrittenOrder {
  id: string;
  customerId: string;
}

const COLUMNS = ['order_id', 'customer_id', ...FIELD_NAMES];
const UPSERT_SQL = `INSERT INTO customer_orders (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.join(', ')} FROM jsonb_populate_recordset(NULL::customer_orders, $1::jsonb) ORDER BY order_id
  ON CONFLICT (order_id) DO UPDATE SET ${COLUMNS.slice(1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')}
  RETURNING id, order_id, customer_id`;

/** The rows that exist for these order ids, before the write (to tell created from updated). */
export async function existingOrders(
  tx: Tx,
  orderIds: readonly string[],
): Promise<Map<string, WrittenOrder>> {
  if (orderIds.length === 0) return new Map();
  const { rows } = await tx.query<{ id: string; order_id: string; customer_id: string }>(
    'orders.existing',
    'SELECT id, order_id, customer_id FROM customer_orders WHERE order_id = ANY($1::text[])',
    [orderIds],
  );
  return new Map(rows.map((r) => [r.order_id, { id: r.id, customerId: r.customer_id }]));
}

/**
 * Inserts or updates the rows, in order_id order (row locks in one order across transactions).
 * is_first_order is left to updateFirstOrderFlags; customers' metric columns to the table's trigger.
 */
export async function upsertOrders(tx: Tx, rows: readonly OrderRow[]): Promise<Map<string, WrittenOrder>> {
  if (rows.length === 0) return new Map();
  const { rows: written } = await tx.query<{ id: string; order_id: string; customer_id: string }>(
    'orders.upsert',
    UPSERT_SQL,
    [JSON.stringify(rows)],
  );
  return new Map(written.map((r) => [r.order_id, { id: r.id, customerId: r.customer_id }]));
}

/** Replaces the items of each order given (an empty list leaves it without items). */
export async function replaceItems(
  tx: Tx,
  orders: readonly { orderUuid: string; items: readonly OrderItem[] }[],
): Promise<void> {
  if (orders.length === 0) return;
  await tx.query('orders.items-delete', 'DELETE FROM customer_order_items WHERE order_id = ANY($1::uuid[])', [
    orders.map((o) => o.orderUuid),
  ]);
  const rows = orders.flatMap((o) =>
    o.items.map((i) => ({
      ...i,
      order_id: o.orderUuid,
      unit_price: moneyText(i.unit_price),
      total_price: moneyText(i.total_price),
      discount_amount: moneyText(i.discount_amount),
    })),
  );
  if (rows.length === 0) return;
  await tx.query(
    'orders.items-insert',
    `INSERT INTO customer_order_items (order_id, product_id, product_name, product_category,
       product_subcategory, product_sku, product_brand, unit_price, quantity, total_price,
       discount_amount, product_attributes)
     SELECT order_id, product_id, product_name, product_category, product_subcategory, product_sku,
       product_brand, unit_price, quantity, total_price, discount_amount, product_attributes
     FROM jsonb_populate_recordset(NULL::customer_order_items, $1::jsonb)`,
    [JSON.stringify(rows)],
  );
}

/**
 * is_first_order for exactly each customer's earliest order, for every customer an order moved to
 * or from (first_order_flag_changes, 0017: the customers locked in id order first). Returns the
 * orders whose flag changed, and the flags of those and of `orderUuids`, which the
 * first-time-customer rule reads.
 */
export async function updateFirstOrderFlags(
  tx: Tx,
  customerIds: readonly string[],
  orderUuids: readonly string[],
): Promise<{ changed: Set<string>; flags: Map<string, boolean> }> {
  const changed = new Set<string>();
  if (customerIds.length > 0) {
    const { rows } = await tx.query<{ id: string }>(
      'orders.first-order-flags',
      'SELECT f AS id FROM first_order_flag_changes($1::uuid[]) AS f',
      [[...new Set(customerIds)].sort()],
    );
    for (const r of rows) changed.add(r.id);
  }
  const read = [...new Set([...orderUuids, ...changed])];
  if (read.length === 0) return { changed, flags: new Map() };
  const { rows } = await tx.query<{ id: string; is_first_order: boolean }>(
    'orders.first-order-read',
    'SELECT id, is_first_order FROM customer_orders WHERE id = ANY($1::uuid[])',
    [read],
  );
  return { changed, flags: new Map(rows.map((r) => [r.id, r.is_first_order === true])) };
}
