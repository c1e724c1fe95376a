/**
 * The per-order state (order_state.state): every field's latest value with the event time and
 * messageId that set it, the items as one field, and the earliest time each status was stated.
 * Merging a record into it is commutative and idempotent (each cell keeps the maximum by
 * (event time, messageId), each time the minimum), so the same records give the same state in
 * whatever order and however often they arrive: Kafka partitions of two topics, retries, replays.
 */
import type {
  CustomerClaim,
  FieldName,
  FieldValue,
  OrderItem,
  OrderStatus,
  OrderUpdate,
} from '../mapping/fields.js';
import { canonicalJson } from '../../../shared/src/text/canonical-json.js';

/** A value and the (event time, messageId) of the record that set it. */
export interface Cell<V> {
  v: V;
  t: number;
  m: string;
}

export interface OrderState {
  customer: Cell<CustomerClaim>;
  fields: Partial<Record<FieldName, Cell<FieldValue>>>;
  items?: Cell<OrderItem[]>;
  /** Earliest event time of a record stating each status. */
  statusSince: Partial<Record<OrderStatus, number>>;
  /** Earliest event time of a record carrying an order_total and no status: a new order, confirmed by default. */
  placedAt?: number;
  /** Earliest event time of any record of the order. */
  firstSeen: number;
}

export type Change = FieldName | 'customer' | 'items' | 'statusSince' | 'placedAt' | 'firstSeen';

/** `update` merged into `state` (undefined: a new order), and what it changed; `state` is not modified. */
export function mergeUpdate(
  state: OrderState | undefined,
  u: OrderUpdate,
): { state: OrderState; changed: Set<Change> } {
  const changed = new Set<Change>();
  const cell = <V>(v: V): Cell<V> => ({ v, t: u.eventTime, m: u.messageId });
  const next: OrderState = state
    ? { ...state, fields: { ...state.fields }, statusSince: { ...state.statusSince } }
    : { customer: cell(u.customer), fields: {}, statusSince: {}, firstSeen: u.eventTime };
  if (!state) changed.add('customer').add('firstSeen');

  if (state && customerBeats(cell(u.customer), next.customer)) {
    next.customer = cell(u.customer);
    changed.add('customer');
  }
  for (const [name, v] of Object.entries(u.fields) as [FieldName, FieldValue][]) {
    const current = next.fields[name];
    const candidate = cell(v);
    if (!current || beats(candidate, current)) {
      next.fields[name] = candidate;
      changed.add(name);
    }
  }
  if (u.items !== null && (!next.items || beats(cell(u.items), next.items))) {
    next.items = cell(u.items);
    changed.add('items');
  }

  const status = u.fields.order_status as OrderStatus | undefined;
  if (status !== undefined && earlier(u.eventTime, next.statusSince[status])) {
    next.statusSince[status] = u.eventTime;
    changed.add('statusSince');
  }
  if (status === undefined && u.fields.order_total !== undefined && earlier(u.eventTime, next.placedAt)) {
    next.placedAt = u.eventTime;
    changed.add('placedAt');
  }
  if (u.eventTime < next.firstSeen) {
    next.firstSeen = u.eventTime;
    changed.add('firstSeen');
  }
  return { state: next, changed };
}

/** Folds records into a state, collecting everything they changed. */
export function mergeAll(
  state: OrderState | undefined,
  updates: readonly OrderUpdate[],
): { state: OrderState | undefined; changed: Set<Change> } {
  const changed = new Set<Change>();
  let s = state;
  for (const u of updates) {
    const r = mergeUpdate(s, u);
    s = r.state;
    for (const c of r.changed) changed.add(c);
  }
  return { state: s, changed };
}

/** The state a new order's records make on their own (at least one record). */
export function mergeNew(updates: readonly OrderUpdate[]): { state: OrderState; changed: Set<Change> } {
  const { state, changed } = mergeAll(undefined, updates);
  if (!state) throw new Error('mergeNew needs at least one update');
  return { state, changed };
}

const earlier = (t: number, than: number | undefined): boolean => than === undefined || t < than;

/**
 * Last writer wins by event time, then messageId; a tie of both (the same message, replayed) is
 * no change unless the values differ, then the larger value wins so the result stays order-free.
 */
export function beats(a: Cell<unknown>, b: Cell<unknown>): boolean {
  if (a.t !== b.t) return a.t > b.t;
  if (a.m !== b.m) return a.m > b.m;
  return canonicalJson(a.v) > canonicalJson(b.v);
}

/**
 * An order's customer: a userId beats an anonymousId whatever their times (the backend knows the
 * buyer better than a browser's cookie), else the later claim wins as for any field.
 */
export function customerBeats(a: Cell<CustomerClaim>, b: Cell<CustomerClaim>): boolean {
  if (a.v.type !== b.v.type) return a.v.type === 'user_id';
  return beats(a, b);
}
