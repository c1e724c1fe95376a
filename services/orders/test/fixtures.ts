import { EMPTY_CONTEXT } from '../../shared/src/avro/record-context.js';
/** Records as the topics carry them, for unit and database tests alike (no connections here). */
import { randomUUID } from 'node:crypto';
import { EARLIEST_EVENT_MS } from '../../shared/src/time/occurred-at.js';
import type { OrderUpdate } from '../src/mapping/fields.js';
import { mapOrderRecord, type OrderRecord } from '../src/mapping/order-record.js';
import { mapOrderTrack, type EventTrack } from '../src/mapping/order-track.js';
import type { OrderItemRecord } from '../src/mapping/item.js';

export const limits = { maxFutureMs: 24 * 3600_000, earliestMs: EARLIEST_EVENT_MS };

/** A fixed past instant, so event times are plausible and tests can place records around it. */
export const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
export const at = (minutes: number): number => T0 + minutes * 60_000;

const EMPTY_ORDER: Omit<OrderRecord, 'messageId' | 'order_id' | 'timestamp' | 'receivedAt'> = {
  sourceId: 'test-source',
  userId: null,
  anonymousId: null,
  order_status: null,
  order_total: null,
  currency: null,
  subtotal: null,
  tax_amount: null,
  shipping_amount: null,
  discount_amount: null,
  ordered_at: null,
  confirmed_at: null,
  shipped_at: null,
  delivered_at: null,
  cancelled_at: null,
  shipping_country: null,
  shipping_state: null,
  shipping_city: null,
  billing_country: null,
  billing_state: null,
  billing_city: null,
  acquisition_channel: null,
  campaign_id: null,
  promotion_code: null,
  payment_method: null,
  payment_status: null,
  is_subscription: null,
  subscription_id: null,
  order_source: null,
  notes: null,
  custom_fields_json: null,
  items: null,
  sentAt: null,
};

/** A cdp.orders value: everything null ("not given") but what `o` sets. `timestamp` defaults to T0. */
export function orderRecord(o: Partial<OrderRecord> & { order_id: string }): OrderRecord {
  const timestamp = o.timestamp ?? T0;
  return { ...EMPTY_ORDER, messageId: randomUUID(), timestamp, receivedAt: timestamp, ...o };
}

export function item(o: Partial<OrderItemRecord> = {}): OrderItemRecord {
  return {
    product_id: 'p-1',
    product_name: 'Product',
    product_category: null,
    product_subcategory: null,
    product_sku: null,
    product_brand: null,
    unit_price: 10,
    quantity: 1,
    total_price: null,
    discount_amount: null,
    product_attributes_json: null,
    ...o,
  };
}

/** A cdp.events track value (the parts this processor reads, plus what the schema requires). */
export function track(
  event: string,
  properties: Record<string, unknown>,
  o: Partial<EventTrack> = {},
): EventTrack & Record<string, unknown> {
  const timestamp = o.timestamp ?? T0;
  return {
    messageId: randomUUID(),
    sourceId: 'test-source',
    type: 'TRACK',
    event,
    name: null,
    category: null,
    userId: null,
    anonymousId: null,
    timestamp,
    sentAt: null,
    receivedAt: timestamp,
    propertiesJson: JSON.stringify(properties),
    context: { ...EMPTY_CONTEXT },
    ...o,
  };
}

/** The update a record maps to; fails the test's setup loudly when it maps to a dead letter. */
export function update(r: OrderRecord | EventTrack): OrderUpdate {
  const result = 'order_id' in r ? mapOrderRecord(r, limits) : mapOrderTrack(r, limits);
  if (!result.ok) throw new Error(`record does not map: ${result.reason} ${result.errors.join('; ')}`);
  return result.value;
}
