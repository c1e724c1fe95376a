/**
 * The computed columns of the customers a batch touched, brought up to date inside the batch's
 * transaction (so a replayed batch, skipped by its offsets, never counts twice). Each customer is
 * one read and at most one write however many of its records the batch holds.
 */
import type { Queryable } from '../../pg/gateway.js';
import { clockMetrics, reactivationDay } from './rules.js';
import {
  activityDays,
  activityFacts,
  eventRange,
  lockCustomerRows,
  writeMetrics,
  type LockedRow,
} from './store.js';
import {
  differingColumns,
  metricsOfRow,
  WRITER_METRIC_COLUMNS,
  type CustomerRow,
  type WriterMetrics,
} from './values.js';

/** What one batch's new events add to one customer. */
export interface EventDelta {
  pageViews: number;
  /** Session ids new for the customer (customer_sessions said so). */
  newSessions: number;
  firstMs: number;
  lastMs: number;
}

export interface MetricsUpdate {
  asOfMs: number;
  /** The batch's new events per customer (the event sink). */
  events?: ReadonlyMap<string, EventDelta>;
  /** Customers whose activity days changed: their reactivated_at is worked out again. */
  newDays?: ReadonlySet<string>;
  /**
   * first/last_seen_at and reactivated_at from the events and orders as stored now, for writers
   * that can move activity around (orders: an ordered_at that changes; merges).
   */
  fromStored?: boolean;
  /** The rows as the transaction found them, before it changed anything (default: read now). */
  before?: ReadonlyMap<string, LockedRow>;
  /** `before` is still current (nothing in the transaction updated these customers since): not read again. */
  beforeIsCurrent?: boolean;
  /** The scheduled refresh: customers idle past the recent-events window are not counted. */
  skipIdle?: boolean;
}

/** One customer whose published columns may have changed; `before` null: created by this transaction. */
export interface RowChange {
  id: string;
  before: CustomerRow | null;
  after: CustomerRow;
  /** Whether the metrics writer itself changed the row. */
  written: boolean;
}

export async function updateCustomerMetrics(
  tx: Queryable,
  customerIds: readonly string[],
  update: MetricsUpdate,
): Promise<RowChange[]> {
  const ids = [...new Set(customerIds)].sort();
  if (ids.length === 0) return [];
  const locked = update.beforeIsCurrent && update.before ? update.before : await lockCustomerRows(tx, ids);
  const present = ids.filter((id) => locked.has(id));
  const facts = await activityFacts(tx, present, update.asOfMs, update.skipIdle);
  const daysFor = update.fromStored ? present : present.filter((id) => update.newDays?.has(id));
  const days = await activityDays(tx, daysFor);
  const ranges = update.fromStored ? await eventRange(tx, present) : undefined;

  const updates: { id: string; metrics: WriterMetrics }[] = [];
  for (const id of present) {
    const row = locked.get(id)!.row;
    const now = metricsOfRow(row);
    const f = facts.get(id)!;
    let firstSeen = now.first_seen_at;
    let lastSeen = now.last_seen_at;
    let pageViews = now.total_page_views;
    let sessions = now.total_sessions;
    const delta = update.events?.get(id);
    if (delta) {
      // last_seen_at is null exactly while the customer has no activity: first_seen_at then holds
      // the time of the record that created it (an identify), which the first activity replaces.
      firstSeen = lastSeen === null ? delta.firstMs : Math.min(firstSeen, delta.firstMs);
      lastSeen = lastSeen === null ? delta.lastMs : Math.max(lastSeen, delta.lastMs);
      pageViews += delta.pageViews;
      sessions += delta.newSessions;
    }
    if (ranges) {
      const seen = seenRange(ranges.get(id), f);
      if (seen) [firstSeen, lastSeen] = seen;
      else lastSeen = null;
    }
    const dayList = days.get(id);
    const reactivated = dayList ? reactivationDay(dayList) : now.reactivated_at;
    const clock = clockMetrics({
      asOfMs: update.asOfMs,
      lastSeenMs: lastSeen,
      recentEvents: f.recentEvents,
      deliveredOrders: now.total_orders,
      lastOrderMs: f.lastOrderMs,
      firstCommittedOrderMs: f.firstCommittedOrderMs,
      reactivatedMs: reactivated,
      dateOfBirth: (row.date_of_birth as string | null) ?? null,
    });
    const next: WriterMetrics = {
      first_seen_at: firstSeen,
      last_seen_at: lastSeen,
      total_page_views: pageViews,
      total_sessions: sessions,
      reactivated_at: reactivated,
      ...clock,
    };
    if (differingColumns(WRITER_METRIC_COLUMNS, now, next).length > 0) updates.push({ id, metrics: next });
  }

  const written = await writeMetrics(tx, updates, new Date(update.asOfMs));
  // Every touched customer is reported, not only those written here: another writer in this
  // transaction (the order trigger, a merge) may have changed its other columns.
  return present.map((id) => {
    const before = update.before?.get(id) ?? locked.get(id)!;
    return {
      id,
      before: before.createdHere ? null : before.row,
      after: written.get(id) ?? locked.get(id)!.row,
      written: written.has(id),
    };
  });
}

/** [first, last] activity over events and orders, or undefined when there is none. */
export function seenRange(
  events: { firstMs: number; lastMs: number } | undefined,
  orders: { firstOrderMs: number | null; lastOrderMs: number | null },
): [number, number] | undefined {
  const firsts = [events?.firstMs, orders.firstOrderMs].filter((v): v is number => typeof v === 'number');
  const lasts = [events?.lastMs, orders.lastOrderMs].filter((v): v is number => typeof v === 'number');
  if (firsts.length === 0) return undefined;
  return [Math.min(...firsts), Math.max(...lasts)];
}
