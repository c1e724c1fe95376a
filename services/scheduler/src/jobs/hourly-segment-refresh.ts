import { runSegmentQuery } from '../../../shared/src/segments/sql-query.js';
import type { JobHandler } from './handler.js';

/** A full evaluation's statement_timeout, unless job_config sets `statement_timeout_ms`. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * `hourly_segment_refresh`: every active segment that is not static evaluated from scratch by
 * refresh_segment_memberships, so members of time-relative criteria (`within_last`) leave when time
 * passes, sql_query segments (not kept incrementally) follow their data, and changes made to
 * customers outside the pipeline are caught. One segment per transaction so a large one never holds
 * the others' locks, each under a statement_timeout, stopping between segments when the run is
 * aborted. An sql_query runs first on a session of its own (segments/sql-query.ts), outside the
 * transaction. Segments whose criteria were refused are skipped and counted; one that fails does not
 * stop the others, and the run fails afterwards, naming it. Transitions are journaled and the
 * segments processor publishes them. `{"refresh_dynamic_segments": false}` turns the job off.
 */
export function hourlySegmentRefresh(databaseUrl: string): JobHandler {
  return async ({ db, signal, logger, config, now }) => {
    if (config.refresh_dynamic_segments === false)
      return { summary: 'refresh_dynamic_segments is false: nothing done' };
    const timeoutMs =
      typeof config.statement_timeout_ms === 'number' && config.statement_timeout_ms > 0
        ? Math.trunc(config.statement_timeout_ms)
        : DEFAULT_TIMEOUT_MS;
    const { rows } = await db.query<{
      id: string;
      kind: string;
      rejected: boolean;
      query: string;
      params: unknown;
    }>(
      'refreshable-segments',
      `SELECT s.id, segment_kind(s) AS kind, d.error IS NOT NULL AS rejected,
              s.sql_query AS query, s.query_parameters AS params
       FROM segments s LEFT JOIN segment_definitions d ON d.segment_id = s.id
       WHERE s.is_active AND segment_kind(s) <> 'static' ORDER BY s.id`,
    );
    const startedMs = performance.now();
    const failed: string[] = [];
    let members = 0;
    let refreshed = 0;
    for (const { id, kind, rejected, query, params } of rows) {
      if (rejected) continue;
      signal.throwIfAborted();
      // The run's instant plus the time the run has taken: each segment's transitions are stamped
      // when they are made (on the run's clock), never before those of an earlier segment.
      const at = new Date(now.getTime() + (performance.now() - startedMs));
      try {
        let queried: string[] | null = null;
        if (kind === 'sql_query') {
          const result = await runSegmentQuery({
            connectionString: databaseUrl,
            query,
            params,
            timeoutMs,
            applicationName: `scheduler/${process.pid}/segment-query`,
          });
          if (!result.ok) throw new Error(result.error);
          queried = result.members;
        }
        const { rows: result } = await db.transaction('refresh-segment', async (tx) => {
          await tx.query('refresh-segment.timeout', `SET LOCAL statement_timeout = ${timeoutMs}`);
          return tx.query<{ members: number }>(
            'refresh-segment',
            'SELECT refresh_segment_memberships($1, $2, $3::uuid[]) AS members',
            [id, at, queried],
          );
        });
        members += result[0]?.members ?? 0;
        refreshed++;
      } catch (err) {
        // Only the message: criteria errors name a field or operator, query errors are stripped of
        // quoted values (sql-query.ts).
        logger.warn({ segment: id, err: { message: (err as Error).message } }, 'segment refresh failed');
        failed.push(`${id}: ${(err as Error).message}`);
      }
    }
    const skipped = rows.filter((r) => r.rejected).length;
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} of ${rows.length} segments failed (${failed.slice(0, 3).join('; ')})`,
      );
    }
    return {
      summary: `${refreshed} segments refreshed, ${members} members in all${skipped > 0 ? `; ${skipped} skipped (criteria refused)` : ''}`,
    };
  };
}
