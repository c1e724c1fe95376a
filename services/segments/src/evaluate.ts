/**
 * Full evaluation of segments created or changed (noticed by NOTIFY cdp_segments or the poll):
 * compile, store the definition, then refresh_segment_memberships (0022) with the processor's
 * clock under a statement_timeout, publishing the transitions in the same transaction. A segment
 * whose criteria or sql_query fail keeps its members and gets the reason in criteria_error.
 */
import type { Logger } from '../../shared/src/logger.js';
import type { Db, Tx } from '../../shared/src/pg/gateway.js';
import { transactionOutbox } from '../../shared/src/pipeline/outbox.js';
import { defineSegment } from '../../shared/src/segments/definition.js';
import type { SegmentsMetrics } from './metrics.js';
import { publishTransitions, type Published, type SegmentChangeFeed } from './publish.js';
import {
  lockSegment,
  pendingSegments,
  recordError,
  storeDefinition,
} from '../../shared/src/segments/definitions-store.js';

export interface EvaluationDeps {
  db: Db;
  feed: SegmentChangeFeed;
  queryTimeoutMs: number;
  now: () => Date;
  logger: Logger;
  metrics?: SegmentsMetrics;
}

/**
 * Evaluates every pending segment; returns what was published. A segment whose evaluation fails
 * for a reason not its own (a lost connection, a deadlock) is left pending and the others go on;
 * the pass then fails, to be retried.
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
  return deps.db.transaction('segments.evaluate', async (tx) => {
    const segment = await lockSegment(tx, id);
    if (!segment) return { entered: 0, exited: 0, segments: new Set<string>(), more: false };
    const definition = defineSegment(segment);
    await storeDefinition(tx, id, definition);
    let outcome: 'evaluated' | 'rejected' | 'skipped' = 'skipped';
    if (definition.kind === 'criteria' && definition.error !== null) {
      outcome = 'rejected';
      if (segment.is_active)
        deps.logger.warn({ segment: segment.id, error: definition.error }, 'segment criteria rejected');
    } else if (definition.kind !== 'static' && segment.is_active) {
      const error = await refresh(tx, segment.id, deps);
      outcome = error === null ? 'evaluated' : 'rejected';
      if (error !== null) {
        await recordError(tx, segment.id, error);
        deps.logger.warn({ segment: segment.id, error }, 'segment evaluation failed');
      }
    }
    deps.metrics?.evaluations.inc({ outcome });
    return publishTransitions(tx, deps.feed, transactionOutbox(tx, deps.feed.producer));
  });
}

/** refresh_segment_memberships in a savepoint: a failing sql_query costs only its own work. */
async function refresh(tx: Tx, segmentId: string, deps: EvaluationDeps): Promise<string | null> {
  await tx.query('segments.timeout', `SET LOCAL statement_timeout = ${Math.trunc(deps.queryTimeoutMs)}`);
  await tx.query('segments.savepoint', 'SAVEPOINT evaluate');
  try {
    await tx.query('segments.refresh', 'SELECT refresh_segment_memberships($1, $2)', [segmentId, deps.now()]);
    await tx.query('segments.release', 'RELEASE SAVEPOINT evaluate');
    return null;
  } catch (err) {
    const e = err as Error & { code?: string };
    // The server's verdict on the query is the segment's own; a lost connection, a deadlock, a
    // server short of resources or shutting down is not, and the evaluation is retried.
    if (!e.code || /^(08|40|53|55P03|57P|58|XX)/.test(e.code)) throw err;
    await tx.query('segments.rollback', 'ROLLBACK TO SAVEPOINT evaluate');
    return `evaluation failed: ${e.message}`.slice(0, 1000);
  }
}
