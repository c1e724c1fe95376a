/**
 * Customers' computed columns (and the incremental path's helper tables) set to what the raw
 * tables say: after a merge moved a profile's events and orders onto the survivor, and as an
 * operator's repair after a manual data fix (npm run customers:recompute).
 */
import type { Queryable } from '../../pg/gateway.js';
import type { RowChange } from './incremental.js';
import { metricsFromRaw } from './raw.js';
import { lockCustomerRows } from './store.js';
import { writeMetrics } from './store.js';
import {
  differingColumns,
  metricsOfRow,
  METRIC_COLUMNS,
  ORDER_METRIC_COLUMNS,
  WRITER_METRIC_COLUMNS,
  type MetricColumn,
} from './values.js';

export interface RepairResult {
  changes: RowChange[];
  /** Customers whose stored values differed from the raw tables, with the columns that did. */
  corrected: { id: string; columns: MetricColumn[] }[];
}

export async function recomputeCustomers(
  tx: Queryable,
  customerIds: readonly string[],
  asOfMs: number,
): Promise<RepairResult> {
  const ids = [...new Set(customerIds)].sort();
  const locked = await lockCustomerRows(tx, ids);
  const present = ids.filter((id) => locked.has(id));
  if (present.length === 0) return { changes: [], corrected: [] };
  await rebuildHelperTables(tx, present);
  const raw = await metricsFromRaw(tx, present, asOfMs);

  const corrected: RepairResult['corrected'] = [];
  const writes: Parameters<typeof writeMetrics>[1][number][] = [];
  let ordersOff = false;
  for (const id of present) {
    const stored = metricsOfRow(locked.get(id)!.row);
    const target = raw.get(id)!;
    const columns = differingColumns(METRIC_COLUMNS, stored, target);
    if (columns.length === 0) continue;
    corrected.push({ id, columns });
    if (differingColumns(ORDER_METRIC_COLUMNS, stored, target).length > 0) ordersOff = true;
    if (differingColumns(WRITER_METRIC_COLUMNS, stored, target).length > 0)
      writes.push({ id, metrics: target });
  }
  // The order columns have one writer, the trigger's function; it is asked, not bypassed.
  if (ordersOff) {
    await tx.query('metrics.repair-orders', 'SELECT recompute_customer_order_metrics($1::uuid[])', [present]);
  }
  const written = await writeMetrics(tx, writes, new Date(asOfMs));
  const after = ordersOff ? await lockCustomerRows(tx, present) : undefined;
  const changes = present.map((id) => {
    const before = locked.get(id)!;
    return {
      id,
      before: before.createdHere ? null : before.row,
      after: written.get(id) ?? after?.get(id)?.row ?? before.row,
      written: written.has(id) || (after?.has(id) ?? false),
    };
  });
  return { changes, corrected };
}

/** customer_sessions and customer_activity_days of these customers as their events say. */
async function rebuildHelperTables(tx: Queryable, ids: readonly string[]): Promise<void> {
  await tx.query(
    'metrics.repair-sessions-stale',
    `DELETE FROM customer_sessions s WHERE s.customer_id = ANY($1::uuid[])
       AND NOT EXISTS (SELECT 1 FROM customer_events e WHERE e.customer_id = s.customer_id AND e.session_id = s.session_id)`,
    [ids],
  );
  await tx.query(
    'metrics.repair-sessions',
    `INSERT INTO customer_sessions (customer_id, session_id)
     SELECT DISTINCT customer_id, session_id FROM customer_events
     WHERE customer_id = ANY($1::uuid[]) AND session_id IS NOT NULL
     ON CONFLICT DO NOTHING`,
    [ids],
  );
  await tx.query(
    'metrics.repair-days-stale',
    `DELETE FROM customer_activity_days d WHERE d.customer_id = ANY($1::uuid[])
       AND NOT EXISTS (SELECT 1 FROM customer_events e WHERE e.customer_id = d.customer_id
         AND e.occurred_at >= (d.day::timestamp AT TIME ZONE 'UTC') AND e.occurred_at < ((d.day + 1)::timestamp AT TIME ZONE 'UTC'))`,
    [ids],
  );
  await tx.query(
    'metrics.repair-days',
    `INSERT INTO customer_activity_days (customer_id, day)
     SELECT DISTINCT customer_id, (occurred_at AT TIME ZONE 'UTC')::date FROM customer_events
     WHERE customer_id = ANY($1::uuid[])
     ON CONFLICT DO NOTHING`,
    [ids],
  );
}
