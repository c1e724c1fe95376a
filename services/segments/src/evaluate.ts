/**
 * Full evaluation of segments created or changed (noticed by NOTIFY cdp_segments or the poll):
 * compile, store the definition, then refresh_segment_memberships (0022) with the processor's
 * clock under a statement_timeout, publishing the transitions in the same transaction. Criteria
 * refused by the parser, and an sql_query that fails, keep the segment's members and put the
 * reason in criteria_error; anything else that fails (a lost connection, a deadlock, a timeout
 * under load) leaves the segment pending, to be evaluated again.
 */
import type { Logger } from '../../shared/src/logger.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import { transactionOutbox } from '../../shared/src/pipeline/outbox.js';
import { defineSegment } from '../../shared/src/segments/definition.js';
import {
  lockSegment,
  pendingSegments,
  recordError,
  storeDefinition,
} from '../../shared/src/segments/definitions-store.js';
import { runSegmentQuery } from '../../shared/src/segments/sql-query.js';
import type { SegmentsMetrics } from './metrics.js';
import { publishTransitions, type Published, type SegmentChangeFeed } from './publish.js';

export interface EvaluationDeps {
  db: Db;
  /** For sql_query segments, which run on a session of their own. */
  databaseUrl: string;
  feed: SegmentChangeFeed;
  queryTimeoutMs: number;
  now: () => Date;
  logger: Logger;
  metrics?: SegmentsMetrics;
}

const NOTHING: Published = { entered: 0, exited: 0, segments: new Set(), more: false };

/**
 * Evaluates every pending segment; returns what was published. A segment whose evaluation fails
 * for a reason not its own is left pending and the others go on; the pass then fails, to be
 * retried with backoff.
 */
export async function evaluatePendingSegments(deps: EvaluationDeps): Promise<Published[]> {
  const published: Published[] = [];
  const failed = new Set<string>();
  let lastError: unknown;
  for (;;) {
    const pending = (await pendingSegments(deps.db, 20 + failed.size)).filter((id) => !failed.has(id));
    if (pending.length === 0) break;
    for (const id of pending) {
      try {
        published.push(await evaluateSegment(deps, id));
      } catch (err) {
        failed.add(id);
        lastError = err;
      }
    }
  }
  if (lastError !== undefined) throw lastError;
  return published;
}

async function evaluateSegment(deps: EvaluationDeps, id: string): Promise<Published> {
  // An sql_query runs first, outside the transaction and its locks: it may take up to the
  // timeout, and incremental batches must not wait for it. What it ran is checked under the lock.
  const query = await sqlQueryOf(deps, id);
  const queried = query ? await runSegmentQuery({ ...queryOptions(deps), ...query }) : undefined;

  return deps.db.transaction('segments.evaluate', async (tx) => {
    const segment = await lockSegment(tx, id);
    if (!segment?.pending) return NOTHING; // deleted, or another instance evaluated it
    // Changed since the query ran: still pending, evaluated again at once.
    if (segment.kind === 'sql_query' && segment.is_active && (!query || !sameQuery(query, segment)))
      return NOTHING;
    const definition = defineSegment(segment);
    await storeDefinition(tx, id, definition);
    let outcome: 'evaluated' | 'rejected' | 'skipped' = 'skipped';
    if (definition.kind === 'criteria' && definition.error !== null) {
      outcome = 'rejected';
      if (segment.is_active)
        deps.logger.warn({ segment: id, error: definition.error }, 'segment criteria rejected');
    } else if (queried && !queried.ok) {
      outcome = 'rejected';
      await recordError(tx, id, queried.error);
      if (segment.is_active)
        deps.logger.warn({ segment: id, error: queried.error }, 'segment sql_query failed');
    } else if (definition.kind !== 'static' && segment.is_active) {
      await tx.query('segments.timeout', `SET LOCAL statement_timeout = ${Math.trunc(deps.queryTimeoutMs)}`);
      await tx.query('segments.refresh', 'SELECT refresh_segment_memberships($1, $2, $3::uuid[])', [
        id,
        deps.now(),
        queried?.ok ? queried.members : null,
      ]);
      outcome = 'evaluated';
    }
    deps.metrics?.evaluations.inc({ outcome });
    return publishTransitions(tx, deps.feed, transactionOutbox(tx, deps.feed.producer));
  });
}

interface SqlQuery {
  query: string;
  params: unknown;
}

async function sqlQueryOf(deps: EvaluationDeps, id: string): Promise<SqlQuery | undefined> {
  const { rows } = await deps.db.query<{ query: string; params: unknown }>(
    'segments.sql-query',
    `SELECT sql_query AS query, query_parameters AS params FROM segments s
     WHERE id = $1 AND segment_kind(s) = 'sql_query' AND s.is_active`,
    [id],
  );
  return rows[0];
}

const sameQuery = (q: SqlQuery, s: { sql_query: string | null; query_parameters: unknown }) =>
  q.query === s.sql_query && JSON.stringify(q.params) === JSON.stringify(s.query_parameters);

function queryOptions(deps: EvaluationDeps): {
  connectionString: string;
  timeoutMs: number;
  applicationName: string;
} {
  return {
    connectionString: deps.databaseUrl,
    timeoutMs: deps.queryTimeoutMs,
    applicationName: `segments-query/${process.pid}`,
  };
}
