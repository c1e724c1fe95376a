import type { JobHandler } from './handler.js';

/** A full evaluation's statement_timeout, unless job_config sets `statement_timeout_ms`. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * `hourly_segment_refresh`: every active segment that is not static evaluated from scratch by
 * refresh_segment_memberships at the run's instant, so members of time-relative criteria
 * (`within_last`) leave when time passes and sql_query segments (not kept incrementally) follow
 * their data. One segment per transaction so a large one never holds the others' locks, each under
 * a statement_timeout, stopping between segments when the run is aborted. Segments whose criteria
 * were rejected (segments.criteria_error) are skipped and counted; a segment that fails does not
 * stop the others, and the run fails afterwards, naming it. The transitions are journaled and the
 * segments processor publishes them. `{"refresh_dynamic_segments": false}` turns the job off.
 */
export const hourlySegmentRefresh: JobHandler = async ({ db, signal, logger, config, now }) => {
  if (config.refresh_dynamic_segments === false)
    return { summary: 'refresh_dynamic_segments is false: nothing done' };
  const timeoutMs =
    typeof config.statement_timeout_ms === 'number' && config.statement_timeout_ms > 0
      ? Math.trunc(config.statement_timeout_ms)
      : DEFAULT_TIMEOUT_MS;
  const { rows } = await db.query<{ id: string; rejected: boolean }>(
    'refreshable-segments',
    `SELECT id, (criteria_error IS NOT NULL AND coalesce(btrim(sql_query), '') = '') AS rejected
     FROM segments WHERE is_active AND segment_type IS DISTINCT FROM 'static' ORDER BY id`,
  );
  const failed: string[] = [];
  let members = 0;
  let refreshed = 0;
  for (const { id, rejected } of rows) {
    if (rejected) continue;
    signal.throwIfAborted();
    try {
      const { rows: result } = await db.transaction('refresh-segment', async (tx) => {
        await tx.query('refresh-segment.timeout', `SET LOCAL statement_timeout = ${timeoutMs}`);
        return tx.query<{ members: number }>(
          'refresh-segment',
          'SELECT refresh_segment_memberships($1, $2) AS members',
          [id, now],
        );
      });
      members += result[0]?.members ?? 0;
      refreshed++;
    } catch (err) {
      // Only the message: a criteria error names a field or operator, never a customer's data.
      logger.warn({ segment: id, err: { message: (err as Error).message } }, 'segment refresh failed');
      failed.push(`${id}: ${(err as Error).message}`);
    }
  }
  const skipped = rows.filter((r) => r.rejected).length;
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${rows.length} segments failed (${failed.slice(0, 3).join('; ')})`);
  }
  return {
    summary: `${refreshed} segments refreshed, ${members} members in all${skipped > 0 ? `; ${skipped} skipped (criteria_error set)` : ''}`,
  };
};
