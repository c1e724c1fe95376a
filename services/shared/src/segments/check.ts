/**
 * Segments measured against a from-scratch evaluation: a criteria file before it is saved
 * (`npm run segments -- check`), and invariant 3 for every active segment (`-- verify`, tests).
 */
import type { Queryable } from '../pg/gateway.js';
import { compileSql, parseCriteria } from './criteria/index.js';

export type CriteriaCount =
  | { ok: false; error: string }
  | { ok: true; members: number; customers: number; timeRelative: boolean; where: string; params: unknown[] };

/** How many customers `criteria` holds at `at`, or why it is refused. */
export async function countCriteria(db: Queryable, criteria: unknown, at: Date): Promise<CriteriaCount> {
  const parsed = parseCriteria(criteria);
  if (!parsed.ok) return parsed;
  const sql = compileSql(parsed.criteria);
  const { rows } = await db.query<{ members: number; customers: number }>(
    'segments.count-criteria',
    `SELECT count(*) FILTER (WHERE ${sql.where})::int AS members, count(*)::int AS customers FROM customers c`,
    [JSON.stringify(sql.params), at],
  );
  return { ok: true, ...rows[0]!, timeRelative: sql.timeRelative, where: sql.where, params: sql.params };
}

export interface SegmentDifference {
  segmentId: string;
  name: string;
  /** Customers the criteria select that are not active members. */
  missing: string[];
  /** Active members the criteria do not select. */
  extra: string[];
}

/**
 * Active criteria segments whose active members differ from their criteria evaluated at `at`.
 * Segments whose current version is not evaluated yet (just changed) are not compared.
 */
export async function membershipDifferences(db: Queryable, at: Date): Promise<SegmentDifference[]> {
  const { rows: segments } = await db.query<{ id: string; name: string; where_sql: string; params: unknown }>(
    'segments.verify-list',
    `SELECT s.id, s.name, d.where_sql, d.params
     FROM segments s JOIN segment_definitions d ON d.segment_id = s.id
     WHERE s.is_active AND d.kind = 'criteria' AND d.error IS NULL AND d.evaluated_at IS NOT NULL
       AND d.source = segment_source(s)
     ORDER BY s.id`,
  );
  const differences: SegmentDifference[] = [];
  for (const s of segments) {
    const { rows } = await db.query<{ id: string; missing: boolean }>(
      'segments.verify',
      `WITH want AS (SELECT c.id FROM customers c WHERE ${s.where_sql}),
            have AS (SELECT customer_id AS id FROM segment_memberships
                     WHERE segment_id = $3 AND is_active IS NOT FALSE)
       (SELECT id::text, true AS missing FROM want EXCEPT SELECT id::text, true FROM have)
       UNION ALL
       (SELECT id::text, false FROM have EXCEPT SELECT id::text, false FROM want)`,
      [JSON.stringify(s.params), at, s.id],
    );
    if (rows.length === 0) continue;
    differences.push({
      segmentId: s.id,
      name: s.name,
      missing: rows.filter((r) => r.missing).map((r) => r.id),
      extra: rows.filter((r) => !r.missing).map((r) => r.id),
    });
  }
  return differences;
}
