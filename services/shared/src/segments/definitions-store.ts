import type { Queryable } from '../pg/gateway.js';
import type { Definition, SegmentSource } from './definition.js';

/** Segments created or changed since their definition was stored (or never defined), oldest first. */
export async function pendingSegments(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'segments.pending',
    `SELECT s.id
     FROM segments s
     LEFT JOIN segment_definitions d ON d.segment_id = s.id
     WHERE d.segment_id IS NULL OR d.source IS DISTINCT FROM segment_source(s)
     ORDER BY s.created_at, s.id
     LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

export interface LockedSegment extends SegmentSource {
  id: string;
  /** Whether its current version still differs from the stored definition (another instance may have just evaluated it). */
  pending: boolean;
}

/**
 * The segment as it is now, locked until the transaction ends (NO KEY UPDATE: a membership's
 * foreign-key check, KEY SHARE, is not blocked): what is compiled is the version the definition
 * says it is. Undefined when it was deleted meanwhile.
 */
export async function lockSegment(tx: Queryable, id: string): Promise<LockedSegment | undefined> {
  const { rows } = await tx.query<LockedSegment & Record<string, unknown>>(
    'segments.lock',
    `SELECT s.id, segment_kind(s) AS kind, s.criteria, s.sql_query, s.query_parameters, s.is_active,
            d.source IS DISTINCT FROM segment_source(s) AS pending
     FROM segments s LEFT JOIN segment_definitions d ON d.segment_id = s.id
     WHERE s.id = $1 FOR NO KEY UPDATE OF s`,
    [id],
  );
  return rows[0];
}

/**
 * Stores the definition of the locked segment's current version (not evaluated yet), and the
 * error on the segment. The version is taken by segment_source() in SQL: criteria too deep for
 * JSON.stringify are refused by the parser, and need not survive a round trip through JS.
 */
export async function storeDefinition(tx: Queryable, segmentId: string, d: Definition): Promise<void> {
  const compiled = d.kind === 'criteria' && d.error === null ? d : undefined;
  const error = d.kind === 'criteria' ? d.error : null;
  await tx.query(
    'segments.store-definition',
    `INSERT INTO segment_definitions (segment_id, source, kind, where_sql, params, time_relative, error, version)
     SELECT s.id, segment_source(s), $2, $3, $4, $5, $6, nextval('segment_definition_versions')
     FROM segments s WHERE s.id = $1
     ON CONFLICT (segment_id) DO UPDATE SET
       source = EXCLUDED.source, kind = EXCLUDED.kind, where_sql = EXCLUDED.where_sql,
       params = EXCLUDED.params, time_relative = EXCLUDED.time_relative, error = EXCLUDED.error,
       version = EXCLUDED.version, compiled_at = now(), evaluated_at = NULL`,
    [
      segmentId,
      d.kind,
      compiled?.whereSql ?? null,
      JSON.stringify(compiled?.params ?? []),
      compiled?.timeRelative ?? false,
      error,
    ],
  );
  await recordError(tx, segmentId, error);
}

/**
 * segments.criteria_error: why the segment cannot be evaluated (refused criteria, an sql_query that
 * failed), NULL once it can. A refresh that succeeds clears it too (0022).
 */
export async function recordError(tx: Queryable, segmentId: string, error: string | null): Promise<void> {
  await tx.query(
    'segments.record-error',
    'UPDATE segments SET criteria_error = $2 WHERE id = $1 AND criteria_error IS DISTINCT FROM $2',
    [segmentId, error],
  );
}
