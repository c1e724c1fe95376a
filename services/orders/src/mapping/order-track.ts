/**
 * Segment's e-commerce tracks on cdp.events (`Order Completed`, `Order Refunded`,
 * `Order Cancelled`) -> the same internal update a cdp.orders record becomes, so a backend that
 * tracks orders and one that produces them to cdp.orders land alike.
 */
import type { Result } from '../../../shared/src/pipeline/results.js';
import type { TimeLimits } from '../../../shared/src/time/occurred-at.js';
import { envelopeOf, type EnvelopeRecord } from '../../../shared/src/records/envelope.js';
import { orderIdOf } from './order-id.js';
import { isOrderStatus, type Fields, type OrderStatus, type OrderUpdate } from './fields.js';
import { Normalizer } from './normalize.js';
import { itemOf } from './item.js';

/** The parts of the cdp.events value (schemas/event.avsc) this processor reads. */
export interface EventTrack extends EnvelopeRecord {
  type: 'TRACK' | 'PAGE' | 'SCREEN';
  event: string | null;
  propertiesJson: string;
}

/** The status each track sets. An `Order Completed` may state one; without, it is `confirmed`. */
const TRACK_STATUS = new Map<string, OrderStatus>([
  ['Order Completed', 'confirmed'],
  ['Order Refunded', 'refunded'],
  ['Order Cancelled', 'cancelled'],
]);

/** Cheap, before any parsing: whether this event is one of ours. */
export const isOrderTrack = (e: { type?: unknown; event?: unknown }): boolean =>
  e.type === 'TRACK' && typeof e.event === 'string' && TRACK_STATUS.has(e.event);

/** Segment property -> order field. `total` wins over `revenue` for order_total. */
const MONEY_PROPERTIES = [
  ['subtotal', 'subtotal'],
  ['tax', 'tax_amount'],
  ['shipping', 'shipping_amount'],
  ['discount', 'discount_amount'],
] as const;
const MAPPED = new Set([
  'order_id',
  'orderId',
  'order_status',
  'status',
  'total',
  'revenue',
  'subtotal',
  'tax',
  'shipping',
  'discount',
  'coupon',
  'currency',
  'products',
]);
const PRODUCT_MAPPED = new Set(['product_id', 'id', 'sku', 'name', 'category', 'brand', 'price', 'quantity']);

export function mapOrderTrack(e: EventTrack, limits: TimeLimits): Result<OrderUpdate> {
  const envelope = envelopeOf(e, limits);
  if (!envelope.ok) return envelope;
  const n = new Normalizer(limits, e.receivedAt);
  const props = n.jsonText('properties', e.propertiesJson);
  if (props === undefined) return n.failed();

  const orderId = orderIdOf(asString(props.order_id) ?? asString(props.orderId), `${e.event}`);
  if (!orderId.ok) return orderId;

  const stated = props.order_status ?? props.status;
  const status =
    e.event === 'Order Completed' && isOrderStatus(stated) ? stated : TRACK_STATUS.get(e.event!)!;
  const fields: Fields = { order_status: status };
  const set = (name: keyof Fields, raw: unknown) => {
    const v = n.field(name, raw);
    if (v !== undefined) fields[name] = v;
  };
  set('order_total', asNumber(props.total) ?? asNumber(props.revenue));
  for (const [prop, field] of MONEY_PROPERTIES) set(field, asNumber(props[prop]));
  set('promotion_code', asString(props.coupon));
  set('currency', asString(props.currency));
  // What Segment's spec has no column for stays with the order, in custom_fields.
  const rest = Object.fromEntries(Object.entries(props).filter(([k]) => !MAPPED.has(k)));
  if (Object.keys(rest).length > 0) fields.custom_fields = rest;

  const items = Array.isArray(props.products) ? productsOf(n, props.products) : null;
  if (items === undefined) return n.failed();
  return n.result({ ...envelope.value, orderId: orderId.value, fields, items, truncated: n.truncated });
}

/**
 * Segment products -> items. product_id falls back to sku (then id), the name to the product id,
 * a missing price to 0 and a missing quantity to 1; other product properties (variant, url, ...)
 * become product_attributes. A product with neither id nor sku cannot be an item: a dead letter.
 */
function productsOf(n: Normalizer, products: unknown[]) {
  const items = [];
  for (const [k, p] of products.entries()) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      n.fail('schema-invalid', `products[${k}] is not an object`);
      return undefined;
    }
    const o = p as Record<string, unknown>;
    const productId = asString(o.product_id) || asString(o.sku) || asString(o.id);
    if (!productId) {
      n.fail('schema-invalid', `products[${k}] has neither product_id nor sku`);
      return undefined;
    }
    const quantity = asNumber(o.quantity) ?? 1;
    const attributes = Object.fromEntries(Object.entries(o).filter(([key]) => !PRODUCT_MAPPED.has(key)));
    items.push(
      itemOf(
        n,
        {
          product_id: productId,
          product_name: asString(o.name) || productId,
          product_category: asString(o.category),
          product_subcategory: null,
          product_sku: asString(o.sku),
          product_brand: asString(o.brand),
          unit_price: asNumber(o.price) ?? 0,
          quantity,
          total_price: null,
          discount_amount: null,
        },
        k,
        attributes,
      ),
    );
  }
  return items;
}

/** Segment's lenient types, as the collector reads them: numbers may come as numeric strings. */
function asString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : null;
}

function asNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}
