import type { JobHandler } from './handler.js';

/**
 * `hourly_segment_refresh`: every active dynamic segment re-evaluated by the seed's
 * refresh_segment_memberships, one segment per transaction so a large segment never holds the
 * others' locks, stopping between segments when the run is aborted. A segment whose criteria
 * cannot be evaluated does not stop the others; the run fails afterwards, naming it.
 * job_config `{"refresh_dynamic_segments": false}` turns the refresh off without disabling the row.
 */
export const hourlySegmentRefresh: JobHandler = async ({ db, signal, logger, config }) => {
  if (config.refresh_dynamic_segments === false)
    return { summary: 'refresh_dynamic_segments is false: nothing done' };
  const { rows } = await db.query<{ id: string }>(
    'dynamic-segments',
    "SELECT id FROM segments WHERE is_active AND segment_type = 'dynamic' ORDER BY id",
  );
  const failed: string[] = [];
  let members = 0;
  for (const { id } of rows) {
    signal.throwIfAborted();
    try {
      const { rows: result } = await db.transaction('refresh-segment', (tx) =>
        tx.query<{ members: number }>(
          'refresh-segment',
          'SELECT refresh_segment_memberships($1) AS members',
          [id],
        ),
      );
      members += result[0]?.members ?? 0;
    } catch (err) {
      // Only the message: a criteria error names a field or operator, never a customer's data.
      logger.warn({ segment: id, err: { message: (err as Error).message } }, 'segment refresh failed');
      failed.push(`${id}: ${(err as Error).message}`);
    }
  }
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${rows.length} segments failed (${failed.slice(0, 3).join('; ')})`);
  }
  return { summary: `${rows.length} dynamic segments refreshed, ${members} members in all` };
};
