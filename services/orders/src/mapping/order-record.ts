/** cdp.orders records (schemas/order.avsc) -> the internal order update. */
import type { Result } from '../../../shared/src/pipeline/results.js';
import type { TimeLimits } from '../../../shared/src/time/occurred-at.js';
import { envelopeOf, type EnvelopeRecord } from '../../../shared/src/records/envelope.js';
import { orderIdOf } from './order-id.js';
import { FIELD_NAMES, type Fields, type OrderUpdate } from './fields.js';
import { Normalizer } from './normalize.js';
import { itemOf, type OrderItemRecord } from './item.js';

/** The cdp.orders value as avsc decodes it: seed column names, null meaning "not given". */
export interface OrderRecord extends EnvelopeRecord {
  order_id: string;
  order_status: string | null;
  order_total: number | null;
  currency: string | null;
  subtotal: number | null;
  tax_amount: number | null;
  shipping_amount: number | null;
  discount_amount: number | null;
  ordered_at: number | null;
  confirmed_at: number | null;
  shipped_at: number | null;
  delivered_at: number | null;
  cancelled_at: number | null;
  shipping_country: string | null;
  shipping_state: string | null;
  shipping_city: string | null;
  billing_country: string | null;
  billing_state: string | null;
  billing_city: string | null;
  acquisition_channel: string | null;
  campaign_id: string | null;
  promotion_code: string | null;
  payment_method: string | null;
  payment_status: string | null;
  is_subscription: boolean | null;
  subscription_id: string | null;
  order_source: string | null;
  notes: string | null;
  custom_fields_json: string | null;
  items: OrderItemRecord[] | null;
}

export function mapOrderRecord(r: OrderRecord, limits: TimeLimits): Result<OrderUpdate> {
  const envelope = envelopeOf(r, limits);
  if (!envelope.ok) return envelope;
  const orderId = orderIdOf(r.order_id, 'the cdp.orders record');
  if (!orderId.ok) return orderId;

  const n = new Normalizer(limits, r.receivedAt);
  const fields: Fields = {};
  const raw = r as unknown as Record<string, unknown>;
  for (const name of FIELD_NAMES) {
    const value =
      name === 'custom_fields'
        ? typeof r.custom_fields_json === 'string'
          ? n.jsonText('custom_fields', r.custom_fields_json)
          : undefined
        : n.field(name, raw[name]);
    if (value !== undefined) fields[name] = value;
  }
  const items = Array.isArray(r.items)
    ? r.items.map((i, k) =>
        itemOf(
          n,
          i,
          k,
          typeof i.product_attributes_json === 'string'
            ? (n.jsonText(`items[${k}].product_attributes`, i.product_attributes_json) ?? {})
            : {},
        ),
      )
    : null;
  return n.result({
    ...envelope.value,
    orderId: orderId.value,
    fields,
    items,
    truncated: n.truncated,
  });
}
