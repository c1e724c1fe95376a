/**
 * A state -> the customer_orders row it stands for, or nothing yet (parked). The row is a pure
 * function of the state, so it is the same whichever record arrived last.
 */
import { FIELD_NAMES, ORDER_FIELDS, type FieldName, type OrderStatus } from '../mapping/fields.js';
import { moneyText } from '../../../shared/src/records/money.js';
import { truncateCodePoints } from '../../../shared/src/text/code-points.js';
import type { OrderState } from './merge.js';

/**
 * customer_orders needs a customer, an order_total, ordered_at and a status. Every record names
 * the customer, ordered_at and the status have defaults, so an order is writable once some record
 * gave its order_total; until then its state is kept in order_state, parked.
 */
export const isParked = (s: OrderState): boolean => typeof s.fields.order_total?.v !== 'number';

/** The status columns and the status whose earliest statement sets each. */
export const STATUS_TIMES = [
  ['confirmed_at', 'confirmed'],
  ['shipped_at', 'shipped'],
  ['delivered_at', 'delivered'],
  ['cancelled_at', 'cancelled'],
] as const satisfies readonly (readonly [FieldName, OrderStatus])[];

/**
 * When an order reached a status: an explicit `*_at` value, else the earliest event time of a
 * record stating that status (so a late `shipped` still sets shipped_at after `delivered` won the
 * status). confirmed_at also counts a record that carried order_total without a status (a new
 * order is confirmed by default), unless someone said the order was pending.
 */
export function statusTime(s: OrderState, status: (typeof STATUS_TIMES)[number][1]): number | null {
  const column = `${status}_at` as FieldName;
  const explicit = s.fields[column]?.v;
  if (typeof explicit === 'number') return explicit;
  const since = s.statusSince[status];
  if (status === 'confirmed' && s.placedAt !== undefined && s.statusSince.pending === undefined)
    return Math.min(since ?? Infinity, s.placedAt);
  return since ?? null;
}

export type OrderColumns = Record<FieldName, string | boolean | Record<string, unknown> | null>;

/**
 * The customer_orders columns (but id, order_id, customer_id and is_first_order), as
 * jsonb_populate_recordset takes them: money as numeric text, times as ISO text. Defaults for what
 * no record gave: status confirmed (an order without a status is confirmed), currency USD, subtotal
 * = order_total, tax/shipping/discount 0, ordered_at = the earliest event time seen.
 */
export function orderColumns(s: OrderState): OrderColumns {
  const out = {} as OrderColumns;
  for (const name of FIELD_NAMES) {
    const given = s.fields[name];
    const v = given?.v;
    const spec = ORDER_FIELDS[name];
    if (spec.kind === 'money') out[name] = typeof v === 'number' ? moneyText(v) : null;
    else if (spec.kind === 'time') out[name] = typeof v === 'number' ? new Date(v).toISOString() : null;
    else if (spec.kind === 'code')
      out[name] = typeof v === 'string' ? truncateCodePoints(v, spec.length) : null;
    else out[name] = (v ?? null) as OrderColumns[FieldName];
  }
  const orderTotal = out.order_total;
  out.order_status ??= 'confirmed';
  if (!s.fields.currency) out.currency = 'USD';
  out.subtotal ??= orderTotal;
  out.tax_amount ??= '0.00';
  out.shipping_amount ??= '0.00';
  out.discount_amount ??= '0.00';
  out.is_subscription ??= false;
  out.custom_fields ??= {};
  out.ordered_at ??= new Date(s.firstSeen).toISOString();
  for (const [column, status] of STATUS_TIMES) {
    const at = statusTime(s, status);
    out[column] = at === null ? null : new Date(at).toISOString();
  }
  return out;
}

/** ordered_at as the row has it (ms): explicit, else the earliest event time. */
export const orderedAtOf = (s: OrderState): number =>
  typeof s.fields.ordered_at?.v === 'number' ? s.fields.ordered_at.v : s.firstSeen;
