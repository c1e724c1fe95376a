/**
 * Stored computed columns against a from-scratch recompute, without writing: invariant 2 as a
 * test asserts it, and `npm run customers:recompute -- --check`.
 */
import type { Queryable } from '../../pg/gateway.js';
import { metricsFromRaw } from './raw.js';
import {
  differingColumns,
  metricsOfRow,
  METRIC_COLUMNS,
  type CustomerRow,
  type MetricColumn,
} from './values.js';

export interface MetricDifference {
  id: string;
  customerId: string;
  column: MetricColumn;
  stored: unknown;
  expected: unknown;
}

export async function metricDifferences(
  q: Queryable,
  ids: readonly string[],
  asOfMs: number,
): Promise<MetricDifference[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ id: string; row: CustomerRow }>(
    'metrics.check-stored',
    'SELECT c.id, to_jsonb(c) AS row FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id',
    [ids],
  );
  const raw = await metricsFromRaw(q, ids, asOfMs);
  const out: MetricDifference[] = [];
  for (const { id, row } of rows) {
    const stored = metricsOfRow(row);
    const expected = raw.get(id)!;
    for (const column of differingColumns(METRIC_COLUMNS, stored, expected)) {
      out.push({
        id,
        customerId: row.customer_id,
        column,
        stored: stored[column],
        expected: expected[column],
      });
    }
  }
  return out;
}
