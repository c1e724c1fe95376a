/**
 * The metrics' reads and writes of `customers` and its two helper tables (0019), shared by the
 * incremental path, the repair and the scheduled refresh.
 */
import type { Queryable } from '../../pg/gateway.js';
import { recentEventsAfterMs, RECENT_EVENTS_CAP } from './rules.js';
import {
  METRIC_COLUMNS,
  paramOf,
  WRITER_COLUMN_TYPES,
  WRITER_METRIC_COLUMNS,
  type CustomerRow,
  type WriterMetrics,
} from './values.js';

/**
 * The part of a customers row the metrics read and publish: to_jsonb of the whole row (its
 * custom_attributes, trait_times) cost more than the rest of the metrics' SQL together.
 */
const METRICS_ROW = `jsonb_build_object('id', c.id, 'customer_id', c.customer_id, 'date_of_birth', c.date_of_birth, ${METRIC_COLUMNS.map(
  (col) => `'${col}', c.${col}`,
).join(', ')})`;

export interface LockedRow {
  row: CustomerRow;
  /** Inserted by this transaction: read before anything else in it updated the row, a new customer. */
  createdHere: boolean;
}

/**
 * Locks customers FOR NO KEY UPDATE in id order (the order every writer of customers takes, so
 * none waits on another in a cycle) and reads them. Missing ids are customers merged away.
 */
export async function lockCustomerRows(
  tx: Queryable,
  ids: readonly string[],
): Promise<Map<string, LockedRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{ id: string; row: CustomerRow; created_here: boolean }>(
    'metrics.lock-customers',
    `SELECT c.id, ${METRICS_ROW} AS row, c.xmin = pg_current_xact_id()::xid AS created_here
     FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id FOR NO KEY UPDATE`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { row: r.row, createdHere: r.created_here }]));
}

export interface ActivityFacts {
  recentEvents: number;
  lastOrderMs: number | null;
  firstOrderMs: number | null;
  firstCommittedOrderMs: number | null;
}

/**
 * Per customer: its recent events (counted up to the cap, from the index on (customer_id,
 * occurred_at)) and its orders' dates. `skipIdle` leaves the count at 0 for customers last seen
 * before the window, which then cannot have any (the scheduled refresh reads every customer).
 */
export async function activityFacts(
  tx: Queryable,
  ids: readonly string[],
  asOfMs: number,
  skipIdle = false,
): Promise<Map<string, ActivityFacts>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{
    id: string;
    recent_events: number;
    last_order_at: Date | null;
    first_order_at: Date | null;
    first_committed_at: Date | null;
  }>(
    'metrics.activity-facts',
    `SELECT c.id,
       CASE WHEN $3 AND (c.last_seen_at IS NULL OR c.last_seen_at <= $2) THEN 0 ELSE
         (SELECT count(*)::int FROM (SELECT 1 FROM customer_events e
            WHERE e.customer_id = c.id AND e.occurred_at > $2 LIMIT ${RECENT_EVENTS_CAP}) r)
       END AS recent_events,
       o.last_order_at, o.first_order_at, o.first_committed_at
     FROM customers c
     LEFT JOIN LATERAL (
       SELECT max(co.ordered_at) AS last_order_at, min(co.ordered_at) AS first_order_at,
              min(co.ordered_at) FILTER (WHERE co.order_status IN ('confirmed', 'shipped', 'delivered')) AS first_committed_at
       FROM customer_orders co WHERE co.customer_id = c.id
     ) o ON true
     WHERE c.id = ANY($1::uuid[])`,
    [ids, new Date(recentEventsAfterMs(asOfMs)), skipIdle],
    { prepare: true },
  );
  const ms = (d: Date | null) => (d === null ? null : d.getTime());
  return new Map(
    rows.map((r) => [
      r.id,
      {
        recentEvents: r.recent_events,
        lastOrderMs: ms(r.last_order_at),
        firstOrderMs: ms(r.first_order_at),
        firstCommittedOrderMs: ms(r.first_committed_at),
      },
    ]),
  );
}

/**
 * Each customer's activity days (UTC day numbers, ascending): the days of its events
 * (customer_activity_days) and of its orders. Only the part after the latest gap that could
 * matter is needed, but a customer's days are few enough to read whole.
 */
export async function activityDays(tx: Queryable, ids: readonly string[]): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return result;
  const { rows } = await tx.query<{ customer_id: string; days: number[] }>(
    'metrics.activity-days',
    `SELECT customer_id, array_agg(day ORDER BY day) AS days FROM (
       SELECT customer_id, day - DATE '1970-01-01' AS day FROM customer_activity_days WHERE customer_id = ANY($1::uuid[])
       UNION
       SELECT customer_id, (ordered_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' FROM customer_orders WHERE customer_id = ANY($1::uuid[])
     ) d GROUP BY customer_id`,
    [ids],
    { prepare: true },
  );
  for (const r of rows) result.set(r.customer_id, r.days);
  return result;
}

/** Each customer's earliest and latest event, found through its first and last activity day. */
export async function eventRange(
  tx: Queryable,
  ids: readonly string[],
): Promise<Map<string, { firstMs: number; lastMs: number }>> {
  if (ids.length === 0) return new Map();
  const utc = (day: string) => `(${day}::timestamp AT TIME ZONE 'UTC')`;
  const { rows } = await tx.query<{ customer_id: string; first_at: Date | null; last_at: Date | null }>(
    'metrics.event-range',
    `SELECT d.customer_id,
       (SELECT min(e.occurred_at) FROM customer_events e WHERE e.customer_id = d.customer_id
          AND e.occurred_at >= ${utc('d.first_day')} AND e.occurred_at < ${utc('(d.first_day + 1)')}) AS first_at,
       (SELECT max(e.occurred_at) FROM customer_events e WHERE e.customer_id = d.customer_id
          AND e.occurred_at >= ${utc('d.last_day')} AND e.occurred_at < ${utc('(d.last_day + 1)')}) AS last_at
     FROM (SELECT customer_id, min(day) AS first_day, max(day) AS last_day
           FROM customer_activity_days WHERE customer_id = ANY($1::uuid[]) GROUP BY customer_id) d`,
    [ids],
    { prepare: true },
  );
  const result = new Map<string, { firstMs: number; lastMs: number }>();
  for (const r of rows) {
    // A day row without its events would be a bug in whoever keeps the table; fail loudly.
    if (!r.first_at || !r.last_at)
      throw new Error(`customer ${r.customer_id} has activity days without events`);
    result.set(r.customer_id, { firstMs: r.first_at.getTime(), lastMs: r.last_at.getTime() });
  }
  return result;
}

/** Writes the metrics of the given customers (only those passed: the changed ones). */
export async function writeMetrics(
  tx: Queryable,
  updates: readonly { id: string; metrics: WriterMetrics }[],
  calculatedAt: Date,
): Promise<Map<string, CustomerRow>> {
  if (updates.length === 0) return new Map();
  const cols = WRITER_METRIC_COLUMNS;
  const params: unknown[] = [updates.map((u) => u.id)];
  for (const c of cols) params.push(updates.map((u) => paramOf(c, u.metrics[c])));
  params.push(calculatedAt);
  const { rows } = await tx.query<{ id: string; row: CustomerRow }>(
    'metrics.write',
    `UPDATE customers c SET ${cols.map((c) => `${c} = u.${c}`).join(', ')}, last_calculated_at = $${cols.length + 2}
     FROM unnest($1::uuid[], ${cols.map((c, i) => `$${i + 2}::${WRITER_COLUMN_TYPES[c]}[]`).join(', ')})
       AS u(id, ${cols.join(', ')})
     WHERE c.id = u.id
     RETURNING c.id, ${METRICS_ROW} AS row`,
    params,
  );
  return new Map(rows.map((r) => [r.id, r.row]));
}
