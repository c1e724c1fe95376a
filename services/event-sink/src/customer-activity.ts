/**
 * What a batch of new events adds to each customer's metrics, in the batch's transaction: its
 * page views, its sessions and activity days that are new for the customer (the helper tables
 * say which), and its earliest and latest event. The metrics module does the rest.
 */
import type { Queryable } from '../../shared/src/pg/gateway.js';
import type { EventDelta } from '../../shared/src/customers/metrics/incremental.js';
import { dayOf } from '../../shared/src/customers/metrics/rules.js';
import type { EventRow } from './mapping/event-row.js';

export interface BatchActivity {
  events: Map<string, EventDelta>;
  /** Customers with a day of activity they did not have before. */
  newDays: Set<string>;
  /** The latest event time per customer: what caused its change. */
  causedAt: Map<string, number>;
}

export async function recordActivity(
  tx: Queryable,
  rows: readonly { row: EventRow; customerId: string }[],
): Promise<BatchActivity> {
  const events = new Map<string, EventDelta>();
  const sessions = new Map<string, Set<string>>();
  const days = new Map<string, Set<number>>();
  for (const { row, customerId } of rows) {
    const t = row.occurredAt.getTime();
    const d = events.get(customerId);
    if (d) {
      d.firstMs = Math.min(d.firstMs, t);
      d.lastMs = Math.max(d.lastMs, t);
      if (row.eventType === 'page_view') d.pageViews++;
    } else {
      events.set(customerId, {
        pageViews: row.eventType === 'page_view' ? 1 : 0,
        newSessions: 0,
        firstMs: t,
        lastMs: t,
      });
    }
    if (row.sessionId !== null) addTo(sessions, customerId, row.sessionId);
    addTo(days, customerId, dayOf(t));
  }

  const [customerOfSession, sessionIds] = pairs(sessions);
  if (customerOfSession.length > 0) {
    const inserted = await tx.query<{ customer_id: string }>(
      'sink.sessions',
      `INSERT INTO customer_sessions (customer_id, session_id)
       SELECT * FROM unnest($1::uuid[], $2::text[]) ORDER BY 1, 2
       ON CONFLICT DO NOTHING RETURNING customer_id`,
      [customerOfSession, sessionIds],
    );
    for (const r of inserted.rows) events.get(r.customer_id)!.newSessions++;
  }

  const [customerOfDay, dayNumbers] = pairs(days);
  const insertedDays = await tx.query<{ customer_id: string }>(
    'sink.activity-days',
    `INSERT INTO customer_activity_days (customer_id, day)
     SELECT c, DATE '1970-01-01' + d FROM unnest($1::uuid[], $2::int[]) AS u(c, d) ORDER BY 1, 2
     ON CONFLICT DO NOTHING RETURNING customer_id`,
    [customerOfDay, dayNumbers],
  );
  const causedAt = new Map([...events].map(([id, d]) => [id, d.lastMs]));
  return { events, newDays: new Set(insertedDays.rows.map((r) => r.customer_id)), causedAt };
}

function addTo<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function pairs<T>(map: Map<string, Set<T>>): [string[], T[]] {
  const keys: string[] = [];
  const values: T[] = [];
  for (const [k, set] of map) {
    for (const v of set) {
      keys.push(k);
      values.push(v);
    }
  }
  return [keys, values];
}
