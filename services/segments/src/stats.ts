import type { Db } from '../../shared/src/pg/gateway.js';

/** refresh_segment_stats (0022) for these segments, in one statement. */
export async function refreshStats(db: Db, segmentIds: readonly string[]): Promise<void> {
  if (segmentIds.length === 0) return;
  await db.query('segments.stats', 'SELECT refresh_segment_stats($1::uuid[])', [segmentIds]);
}
