import { Topics } from '../../../shared/src/topics.js';
import {
  asId,
  asNumber,
  asObject,
  asString,
  customerKey,
  messageIdFor,
  timesFor,
  toMillis,
  type Json,
  type RequestMeta,
} from './common.js';
import type { Outgoing } from './segment.js';

const TEXT_FIELDS = [
  'currency',
  'shipping_country',
  'shipping_state',
  'shipping_city',
  'billing_country',
  'billing_state',
  'billing_city',
  'acquisition_channel',
  'campaign_id',
  'promotion_code',
  'payment_method',
  'payment_status',
  'subscription_id',
  'order_source',
  'notes',
] as const;
const MONEY_FIELDS = ['order_total', 'subtotal', 'tax_amount', 'shipping_amount', 'discount_amount'] as const;
const TIME_FIELDS = ['ordered_at', 'confirmed_at', 'shipped_at', 'delivered_at', 'cancelled_at'] as const;

/** A /v1/orders order (seed column names) to its cdp.orders record; absent fields stay null ("unchanged"). */
export function mapOrder(o: Json, meta: RequestMeta): Outgoing {
  const value: Json = {
    messageId: messageIdFor(o, meta.sourceId),
    sourceId: meta.sourceId,
    userId: asId(o.userId),
    anonymousId: asId(o.anonymousId),
    order_id: asString(o.order_id),
    order_status: asString(o.order_status),
    is_subscription: typeof o.is_subscription === 'boolean' ? o.is_subscription : null,
    custom_fields_json: asObject(o.custom_fields) ? JSON.stringify(o.custom_fields) : null,
    items: Array.isArray(o.items) ? o.items.map((i) => mapItem(i as Json)) : null,
    ...timesFor(o, meta),
  };
  for (const f of TEXT_FIELDS) value[f] = asString(o[f]);
  for (const f of MONEY_FIELDS) value[f] = asNumber(o[f]);
  for (const f of TIME_FIELDS) value[f] = toMillis(o[f]);
  if (typeof value.currency === 'string') value.currency = value.currency.toUpperCase();
  return { topic: Topics.orders, key: customerKey(o), value };
}

function mapItem(i: Json): Json {
  return {
    product_id: asString(i.product_id),
    product_name: asString(i.product_name),
    product_category: asString(i.product_category),
    product_subcategory: asString(i.product_subcategory),
    product_sku: asString(i.product_sku),
    product_brand: asString(i.product_brand),
    unit_price: asNumber(i.unit_price),
    quantity: asNumber(i.quantity),
    total_price: asNumber(i.total_price),
    discount_amount: asNumber(i.discount_amount),
    product_attributes_json: asObject(i.product_attributes) ? JSON.stringify(i.product_attributes) : null,
  };
}
