/** One customer_order_items row from an item of either mapping. */
import { ITEM_TEXT_LIMITS, MONEY_10_2, type OrderItem } from './fields.js';
import { toCents } from '../../../shared/src/records/money.js';
import type { Normalizer } from './normalize.js';

/** An item of a cdp.orders record (schemas/order.avsc, OrderItem). */
export interface OrderItemRecord {
  product_id: string;
  product_name: string;
  product_category: string | null;
  product_subcategory: string | null;
  product_sku: string | null;
  product_brand: string | null;
  unit_price: number;
  quantity: number;
  total_price: number | null;
  discount_amount: number | null;
  product_attributes_json: string | null;
}

/** The item fields both mappings fill (the track mapping from Segment's `products[]`). */
export type ItemInput = Omit<OrderItemRecord, 'product_attributes_json'>;

/** One item, its attributes already parsed. */
export function itemOf(
  n: Normalizer,
  i: ItemInput,
  index: number,
  attributes: Record<string, unknown>,
): OrderItem {
  const cut = (column: keyof typeof ITEM_TEXT_LIMITS, v: string | null) =>
    v == null || v === '' ? null : n.text(`customer_order_items.${column}`, v, ITEM_TEXT_LIMITS[column]);
  const at = `items[${index}]`;
  const money = (column: string, v: number) => n.money(`${at}.${column}`, v, MONEY_10_2) ?? 0;
  if (!Number.isInteger(i.quantity) || Math.abs(i.quantity) > 2_147_483_647)
    n.fail('impossible-value', `${at}.quantity is not a whole number that fits INTEGER`);
  const unitPrice = money('unit_price', i.unit_price);
  const discount = i.discount_amount == null ? 0 : money('discount_amount', i.discount_amount);
  // The schema's rule: absent total_price is unit_price * quantity less the discount.
  const total =
    i.total_price == null
      ? money('total_price', (toCents(unitPrice) * i.quantity - toCents(discount)) / 100)
      : money('total_price', i.total_price);
  return {
    product_id: cut('product_id', i.product_id) ?? '',
    product_name: cut('product_name', i.product_name) ?? '',
    product_category: cut('product_category', i.product_category),
    product_subcategory: cut('product_subcategory', i.product_subcategory),
    product_sku: cut('product_sku', i.product_sku),
    product_brand: cut('product_brand', i.product_brand),
    unit_price: unitPrice,
    quantity: i.quantity,
    total_price: total,
    discount_amount: discount,
    product_attributes: attributes,
  };
}
