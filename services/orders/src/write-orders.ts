/**
 * The write of one batch, inside its transaction: each record merged into its order's state, and
 * every order whose state changed and is complete written from the state (row, items, first-order
 * flags, redemption; and the redemptions that other orders' changed flags affect). A record whose order is not complete yet (an update before its order) stays
 * in the state, parked, and takes effect when the order arrives.
 */
import type { Tx } from '../../shared/src/pg/gateway.js';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import type { OrderUpdate } from './mapping/fields.js';
import { toCents } from '../../shared/src/records/money.js';
import { mergeAll, mergeNew, type Change, type OrderState } from './state/merge.js';
import { isParked, orderColumns, orderedAtOf } from './state/order-row.js';
import { lockStates, saveStates } from './store/order-state.js';
import {
  existingOrders,
  replaceItems,
  updateFirstOrderFlags,
  upsertOrders,
} from './store/customer-orders.js';
import { recordRedemptions, type RedemptionOrder } from './store/redemptions.js';
import {
  noDecisions,
  recordConversions,
  type AttributionCounts,
} from '../../shared/src/campaigns/conversions.js';
import { lockCustomerRows } from '../../shared/src/customers/metrics/store.js';
import { updateCustomerMetrics } from '../../shared/src/customers/metrics/incremental.js';
import { changeRecords, type ChangeFeed } from '../../shared/src/customers/change.js';
import type { Outbox } from '../../shared/src/pipeline/outbox.js';

export interface WriteCounts {
  created: number;
  updated: number;
  /** Records whose order still cannot be written (kept in order_state). */
  parked: number;
  redemptions: { valid: number; invalid: number };
  unknownCodes: number;
  truncated: Record<string, number>;
  /** Campaign attribution decisions of the orders written (campaign conversions). */
  attributions: AttributionCounts;
}

interface Merged {
  orderId: string;
  state: OrderState;
  changed: Set<Change>;
  /** The promotion code the stored state had before this batch (undefined: none, or a new state). */
  codeBefore?: unknown;
}

/** Where the customers' changed metrics go (cdp.customer-changes, through the outbox). */
export interface MetricsFeed {
  outbox: Outbox;
  changes: ChangeFeed | null;
}

export async function writeOrders(
  tx: Tx,
  updates: readonly OrderUpdate[],
  feed?: MetricsFeed,
): Promise<WriteCounts> {
  const counts: WriteCounts = {
    created: 0,
    updated: 0,
    parked: 0,
    redemptions: { valid: 0, invalid: 0 },
    unknownCodes: 0,
    truncated: {},
    attributions: noDecisions(),
  };
  const byOrder = new Map<string, OrderUpdate[]>();
  for (const u of updates) {
    const list = byOrder.get(u.orderId);
    if (list) list.push(u);
    else byOrder.set(u.orderId, [u]);
    for (const column of u.truncated) counts.truncated[column] = (counts.truncated[column] ?? 0) + 1;
  }
  if (byOrder.size === 0) return counts;

  // What the batch alone makes of each order: the state of the orders that turn out to be new.
  const alone: Merged[] = [...byOrder].map(([orderId, us]) => ({ orderId, ...mergeNew(us) }));
  const stored = await lockStates(
    tx,
    alone.map((a) => ({ orderId: a.orderId, state: a.state, parked: isParked(a.state) })),
  );
  const changedOrders: Merged[] = [];
  const toSave: { orderId: string; state: OrderState; parked: boolean }[] = [];
  for (const a of alone) {
    const s = stored.get(a.orderId)!;
    const merged = s.inserted ? a : { orderId: a.orderId, ...mergeAll(s.state, byOrder.get(a.orderId)!) };
    const state = merged.state!;
    if (isParked(state)) counts.parked += byOrder.get(a.orderId)!.length;
    if (merged.changed.size === 0) continue; // replays: nothing new
    changedOrders.push({
      orderId: a.orderId,
      state,
      changed: merged.changed,
      codeBefore: s.inserted ? undefined : s.state.fields.promotion_code?.v,
    });
    if (!s.inserted) toSave.push({ orderId: a.orderId, state, parked: isParked(state) });
  }
  await saveStates(tx, toSave);

  const ready = changedOrders.filter((m) => !isParked(m.state));
  if (ready.length === 0) return counts;

  const customers = await resolveCustomers(
    tx,
    ready.map((m) => ({
      externalId: m.state.customer.v.id,
      identityType: m.state.customer.v.type,
      seenAt: new Date(m.state.firstSeen),
    })),
  );
  const before = await existingOrders(
    tx,
    ready.map((m) => m.orderId),
  );
  // The customers as they were, locked in id order before the order trigger locks them, for the
  // metrics' change feed.
  const touched = [...new Set([...customers.values(), ...[...before.values()].map((b) => b.customerId)])];
  const snapshot = await lockCustomerRows(tx, touched);
  const written = await upsertOrders(
    tx,
    ready.map((m) => ({
      order_id: m.orderId,
      customer_id: customers.get(m.state.customer.v.id)!,
      ...orderColumns(m.state),
    })),
  );
  for (const m of ready) {
    if (before.has(m.orderId)) counts.updated++;
    else counts.created++;
  }

  await replaceItems(
    tx,
    ready
      .filter((m) => m.state.items && (m.changed.has('items') || !before.has(m.orderId)))
      .map((m) => ({ orderUuid: written.get(m.orderId)!.id, items: m.state.items!.v })),
  );

  // The flags (first_order_flag_changes locks the customers), then the redemptions (which lock the
  // promotions): of the orders written with a code, and of every order whose flag changed, so a
  // first-time-customers-only redemption ends judged by the final flag whichever order came first.
  const withCode = ready.filter((m) => m.state.fields.promotion_code !== undefined);
  const { changed, flags } = await updateFirstOrderFlags(
    tx,
    [...[...written.values()].map((w) => w.customerId), ...[...before.values()].map((b) => b.customerId)],
    withCode.map((m) => written.get(m.orderId)!.id),
  );

  const redeemed = await recordRedemptions(
    tx,
    withCode.map((m) => redemptionOrder(m, written.get(m.orderId)!, !before.has(m.orderId))),
    changed,
    (orderUuid) => flags.get(orderUuid) ?? false,
  );
  counts.redemptions = { valid: redeemed.valid, invalid: redeemed.invalid };
  counts.unknownCodes = redeemed.unknownCodes;
  counts.attributions = await recordConversions(
    tx,
    [...written.values()].map((w) => w.id),
  );

  // first/last_seen_at from what is stored: an update can move an order's ordered_at either way.
  const changes = await updateCustomerMetrics(tx, touched, {
    asOfMs: Date.now(),
    fromStored: true,
    before: snapshot,
  });
  if (feed?.changes) {
    const causedAt = new Map<string, number>();
    for (const m of ready) {
      const id = customers.get(m.state.customer.v.id)!;
      const latest = Math.max(...byOrder.get(m.orderId)!.map((u) => u.eventTime));
      causedAt.set(id, Math.max(causedAt.get(id) ?? 0, latest));
    }
    await feed.outbox.add(changeRecords(feed.changes, changes, (id) => causedAt.get(id) ?? Date.now()));
  }
  return counts;
}

function redemptionOrder(
  m: Merged,
  row: { id: string; customerId: string },
  created: boolean,
): RedemptionOrder {
  const f = m.state.fields;
  const cents = (v: unknown) => (typeof v === 'number' ? toCents(v) : null);
  const totalCents = cents(f.order_total?.v)!;
  return {
    orderUuid: row.id,
    orderId: m.orderId,
    customerId: row.customerId,
    code: typeof f.promotion_code?.v === 'string' ? f.promotion_code.v : null,
    // A newer record repeating the same code changes its cell's time, not the code.
    codeIsNew: created || (m.changed.has('promotion_code') && f.promotion_code?.v !== m.codeBefore),
    orderedAt: orderedAtOf(m.state),
    amounts: {
      totalCents,
      subtotalCents: cents(f.subtotal?.v) ?? totalCents,
      shippingCents: cents(f.shipping_amount?.v) ?? 0,
      discountCents: cents(f.discount_amount?.v),
    },
    channel: typeof f.order_source?.v === 'string' ? f.order_source.v : null,
  };
}
