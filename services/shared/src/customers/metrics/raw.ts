/**
 * Every computed column of `customers` from scratch, from the raw tables alone (customer_events,
 * customer_orders): none of the incremental path's state (stored counters, customer_sessions,
 * customer_activity_days) is read. The oracle of the tests (contract invariant 2) and the source
 * of the repair (repair.ts).
 */
import type { Queryable } from '../../pg/gateway.js';
import { seenRange } from './incremental.js';
import { clockMetrics, reactivationDay, recentEventsAfterMs, RECENT_EVENTS_CAP } from './rules.js';
import type { CustomerMetrics } from './values.js';

type RawRow = {
  id: string;
  stored_first_seen: Date;
  date_of_birth: string | null;
  page_views: number;
  sessions: number;
  first_event_at: Date | null;
  last_event_at: Date | null;
  recent_events: number;
  delivered_orders: number;
  delivered_cents: string;
  committed_cents: string;
  first_order_at: Date | null;
  last_order_at: Date | null;
  first_committed_at: Date | null;
  days: number[] | null;
};

export async function metricsFromRaw(
  q: Queryable,
  ids: readonly string[],
  asOfMs: number,
): Promise<Map<string, CustomerMetrics>> {
  if (ids.length === 0) return new Map();
  const committed = `co.order_status IN ('confirmed', 'shipped', 'delivered')`;
  const { rows } = await q.query<RawRow>(
    'metrics.from-raw',
    `SELECT c.id, c.first_seen_at AS stored_first_seen, c.date_of_birth::text AS date_of_birth,
       ev.page_views, ev.sessions, ev.first_event_at, ev.last_event_at, ev.recent_events,
       o.delivered_orders, o.delivered_cents::text, o.committed_cents::text,
       o.first_order_at, o.last_order_at, o.first_committed_at, d.days
     FROM customers c
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE e.event_type = 'page_view')::int AS page_views,
              count(DISTINCT e.session_id)::int AS sessions,
              min(e.occurred_at) AS first_event_at, max(e.occurred_at) AS last_event_at,
              count(*) FILTER (WHERE e.occurred_at > $2)::int AS recent_events
       FROM customer_events e WHERE e.customer_id = c.id
     ) ev
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE co.order_status = 'delivered')::int AS delivered_orders,
              coalesce(sum(co.order_total * 100) FILTER (WHERE co.order_status = 'delivered'), 0) AS delivered_cents,
              coalesce(sum(co.order_total * 100) FILTER (WHERE ${committed}), 0) AS committed_cents,
              min(co.ordered_at) AS first_order_at, max(co.ordered_at) AS last_order_at,
              min(co.ordered_at) FILTER (WHERE ${committed}) AS first_committed_at
       FROM customer_orders co WHERE co.customer_id = c.id
     ) o
     CROSS JOIN LATERAL (
       SELECT array_agg(day ORDER BY day) AS days FROM (
         SELECT (e.occurred_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS day FROM customer_events e WHERE e.customer_id = c.id
         UNION
         SELECT (co.ordered_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' FROM customer_orders co WHERE co.customer_id = c.id
       ) x
     ) d
     WHERE c.id = ANY($1::uuid[])`,
    [ids, new Date(recentEventsAfterMs(asOfMs))],
    { prepare: true },
  );
  return new Map(rows.map((r) => [r.id, metricsOf(r, asOfMs)]));
}

function metricsOf(r: RawRow, asOfMs: number): CustomerMetrics {
  const ms = (d: Date | null) => (d === null ? null : d.getTime());
  const orders = { firstOrderMs: ms(r.first_order_at), lastOrderMs: ms(r.last_order_at) };
  const events =
    r.first_event_at && r.last_event_at
      ? { firstMs: r.first_event_at.getTime(), lastMs: r.last_event_at.getTime() }
      : undefined;
  const seen = seenRange(events, orders);
  const reactivated = reactivationDay(r.days ?? []);
  const deliveredCents = Number(r.delivered_cents);
  return {
    total_orders: r.delivered_orders,
    total_revenue: deliveredCents / 100,
    average_order_value:
      r.delivered_orders > 0 ? roundHalfAway(deliveredCents / r.delivered_orders) / 100 : 0,
    lifetime_value: Number(r.committed_cents) / 100,
    // With neither events nor orders, first_seen_at is the time of the record that created the
    // profile (an identify), which only the row itself knows.
    first_seen_at: seen ? seen[0] : r.stored_first_seen.getTime(),
    last_seen_at: seen ? seen[1] : null,
    total_page_views: r.page_views,
    total_sessions: r.sessions,
    reactivated_at: reactivated,
    ...clockMetrics({
      asOfMs,
      lastSeenMs: seen ? seen[1] : null,
      recentEvents: Math.min(r.recent_events, RECENT_EVENTS_CAP),
      deliveredOrders: r.delivered_orders,
      lastOrderMs: orders.lastOrderMs,
      firstCommittedOrderMs: ms(r.first_committed_at),
      reactivatedMs: reactivated,
      dateOfBirth: r.date_of_birth,
    }),
  };
}

/** PostgreSQL's round(numeric): halves away from zero. */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));
