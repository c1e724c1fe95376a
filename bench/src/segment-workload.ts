/**
 * The e2e phase's 100 active segments, of mixed criteria over what the workload moves (page
 * views, sessions, scores, recency, orders, traits), so members enter and leave under load. Named
 * `<marker>-segment-<n>` and owned by a bench platform user: cleanup.ts deletes them (and the
 * transitions their deletion journals).
 */
import type { Db } from '../../services/shared/src/pg/gateway.js';

export const BENCH_SEGMENTS = 100;

type Condition = { field: string; operator: string; value?: unknown; type?: string };
const all = (...conditions: Condition[]) => ({ logic: 'AND', conditions });

const GEOMETRIC = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
const DAYS = [1, 2, 3, 7, 14, 30, 60, 90, 180, 365];

/**
 * Criteria number `i` (0..99): ten kinds, ten thresholds each, spread the way a marketing team's
 * segments are (counters past a level, value tiers, recency windows in days, traits combined
 * with activity), so a customer's event moves it across a few of them, not all.
 */
export function benchCriteria(i: number): unknown {
  const k = i % 10;
  const g = GEOMETRIC[k]!;
  switch (Math.floor(i / 10)) {
    case 0:
      return all({ field: 'total_page_views', operator: '>=', value: g });
    case 1:
      return all({ field: 'total_sessions', operator: '>=', value: g });
    case 2:
      return all({ field: 'engagement_score', operator: 'between', value: [k * 10, k * 10 + 20] });
    case 3:
      return all({ field: 'last_seen_at', operator: 'within_last', value: `${DAYS[k]} days` });
    case 4:
      return {
        logic: 'OR',
        conditions: [{ field: 'lifetime_value', operator: '>=', value: 25 * g }],
        nested_conditions: [all({ field: 'total_orders', operator: '>=', value: g })],
      };
    case 5:
      return all(
        {
          field: 'country',
          operator: 'in',
          value: [
            ['US', 'GB'],
            ['DE', 'FR'],
            ['US', 'DE'],
          ][k % 3],
        },
        { field: 'total_page_views', operator: '>=', value: g },
      );
    case 6:
      return all(
        { field: 'email', operator: 'ends_with', value: '@example.com' },
        { field: 'total_sessions', operator: '>=', value: g },
      );
    case 7:
      return all(
        {
          field: 'custom_attributes.plan',
          operator: '=',
          value: ['free', 'plus', 'pro'][k % 3],
          type: 'string',
        },
        { field: 'total_page_views', operator: '>=', value: GEOMETRIC[k % 4]! },
      );
    case 8:
      return all(
        {
          field: 'lifecycle_stage',
          operator: 'in',
          value: [['new'], ['activated', 'engaged'], ['engaged'], ['at_risk', 'churned']][k % 4],
        },
        { field: 'churn_risk_score', operator: '<=', value: 20 + k * 8 },
      );
    default:
      return {
        logic: 'OR',
        conditions: [
          { field: 'first_seen_at', operator: 'within_last', value: `${DAYS[k]} days` },
          { field: 'tags', operator: 'contains', value: 'vip' },
        ],
        nested_conditions: [all({ field: 'acquisition_source', operator: 'is_not_null' })],
      };
  }
}

/** Creates the segments (idempotent per marker); returns their ids. */
export async function createBenchSegments(db: Db, marker: string): Promise<string[]> {
  const { rows: owner } = await db.query<{ id: string }>(
    'bench.segment-owner',
    `INSERT INTO platform_users (email, password_hash, name, role)
     VALUES ($1, 'x', 'bench', 'viewer')
     ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [`${marker}-segments@bench.invalid`],
  );
  const ids: string[] = [];
  for (let i = 0; i < BENCH_SEGMENTS; i++) {
    const { rows } = await db.query<{ id: string }>(
      'bench.segment',
      `INSERT INTO segments (name, segment_type, refresh_frequency, criteria, created_by)
       VALUES ($1, 'dynamic', 'real_time', $2, $3) RETURNING id`,
      [`${marker}-segment-${i}`, JSON.stringify(benchCriteria(i)), owner[0]!.id],
    );
    ids.push(rows[0]!.id);
  }
  return ids;
}

/** Waits until every segment was evaluated once (the processor does it at start); false on timeout. */
export async function segmentsEvaluated(db: Db, ids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(
      'bench.segments-evaluated',
      `SELECT count(*)::int AS n FROM segment_definitions d JOIN segments s ON s.id = d.segment_id
       WHERE d.segment_id = ANY ($1::uuid[]) AND d.evaluated_at IS NOT NULL AND d.source = segment_source(s)`,
      [ids],
    );
    if (rows[0]!.n === ids.length) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
