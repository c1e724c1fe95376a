/**
 * One table describes an order row: every customer_orders column the processor writes, with its
 * kind and limit. The mappings normalise values by it, the state keeps one cell per entry, and the
 * upsert's column list is derived from it, so they cannot drift.
 */
import { ORDER_STATUSES, type OrderStatus } from '../../../shared/src/order-status.js';

export { ORDER_STATUSES, type OrderStatus };
export const isOrderStatus = (v: unknown): v is OrderStatus =>
  typeof v === 'string' && (ORDER_STATUSES as readonly string[]).includes(v);

/**
 * promotions.promotion_code is VARCHAR(100), customer_orders.promotion_code only VARCHAR(50): the
 * state keeps an order's code whole and promotions are looked up by it (a longer code names none);
 * only the order's row holds it cut to 50.
 */
export const PROMOTION_CODE_MAX = 100;

/** Largest magnitudes DECIMAL(12,2) and DECIMAL(10,2) hold. */
export const MONEY_12_2 = 9_999_999_999.99;
export const MONEY_10_2 = 99_999_999.99;

export type FieldSpec =
  | { kind: 'status' }
  | { kind: 'text'; length: number | null }
  /** Text the state keeps whole and the row cuts to `length` (counted as cut like any text). */
  | { kind: 'code'; length: number }
  | { kind: 'money'; max: number }
  | { kind: 'time' }
  | { kind: 'bool' }
  | { kind: 'uuid' }
  | { kind: 'json' };

const text = (length: number | null) => ({ kind: 'text', length }) as const;
const money12 = { kind: 'money', max: MONEY_12_2 } as const;
const money10 = { kind: 'money', max: MONEY_10_2 } as const;
const time = { kind: 'time' } as const;

export const ORDER_FIELDS = {
  order_status: { kind: 'status' },
  order_total: money12,
  currency: text(3),
  subtotal: money12,
  tax_amount: money10,
  shipping_amount: money10,
  discount_amount: money10,
  ordered_at: time,
  confirmed_at: time,
  shipped_at: time,
  delivered_at: time,
  cancelled_at: time,
  shipping_country: text(50),
  shipping_state: text(50),
  shipping_city: text(100),
  billing_country: text(50),
  billing_state: text(50),
  billing_city: text(100),
  acquisition_channel: text(100),
  campaign_id: { kind: 'uuid' },
  promotion_code: { kind: 'code', length: 50 },
  payment_method: text(50),
  payment_status: text(50),
  is_subscription: { kind: 'bool' },
  subscription_id: text(100),
  order_source: text(50),
  notes: text(null),
  custom_fields: { kind: 'json' },
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof ORDER_FIELDS;
export const FIELD_NAMES = Object.keys(ORDER_FIELDS) as FieldName[];

/**
 * A field's value as the state keeps it: text and uuid as strings (null: cleared by an empty
 * string), money rounded to cents, times as epoch ms, custom_fields as an object.
 */
export type FieldValue = string | number | boolean | Record<string, unknown> | null;
export type Fields = Partial<Record<FieldName, FieldValue>>;

/** One customer_order_items row as the state keeps it (money rounded to cents). */
export interface OrderItem {
  product_id: string;
  product_name: string;
  product_category: string | null;
  product_subcategory: string | null;
  product_sku: string | null;
  product_brand: string | null;
  unit_price: number;
  quantity: number;
  total_price: number;
  discount_amount: number;
  product_attributes: Record<string, unknown>;
}

export const ITEM_TEXT_LIMITS = {
  product_id: 100,
  product_name: 500,
  product_category: 100,
  product_subcategory: 100,
  product_sku: 100,
  product_brand: 100,
} as const;

/** The customer an order belongs to, by external id (userId, else anonymousId). */
export type { CustomerClaim } from '../../../shared/src/records/envelope.js';
import type { CustomerClaim } from '../../../shared/src/records/envelope.js';

/**
 * What one record (a cdp.orders record or an e-commerce track) says about one order: the internal
 * update both topics map to. `fields` holds only what the record carries; absent means unchanged.
 */
export interface OrderUpdate {
  orderId: string;
  customer: CustomerClaim;
  sourceKey: string;
  messageId: string;
  /** Skew-corrected event time (ms): orders the record among the others of its order. */
  eventTime: number;
  receivedAt: number;
  fields: Fields;
  /** null: items unchanged; an array replaces them. */
  items: OrderItem[] | null;
  /** Columns whose value was cut to fit (counted once the write commits). */
  truncated: string[];
}
