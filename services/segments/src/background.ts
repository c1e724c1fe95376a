/**
 * The segments processor's work besides cdp.customer-changes, each a wake loop:
 *  - evaluate: new and changed segments in full (NOTIFY cdp_segments, and a poll);
 *  - publish: transitions journaled by other writers (NOTIFY cdp_segment_changes, and a poll);
 *  - stats: the count and averages of segments whose members changed.
 */
import type { Logger } from '../../shared/src/logger.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import { listen } from '../../shared/src/pg/listener.js';
import { transactionOutbox } from '../../shared/src/pipeline/outbox.js';
import { startWakeLoop } from '../../shared/src/pipeline/wake-loop.js';
import type { SegmentsConfig } from './config.js';
import { evaluatePendingSegments } from './evaluate.js';
import type { SegmentsMetrics } from './metrics.js';
import { publishTransitions, type Published, type SegmentChangeFeed } from './publish.js';
import { refreshStats } from './stats.js';

export interface SegmentsBackground {
  /** After a committed batch: these segments' statistics are due; `more`: journal rows were left. */
  membersChanged(segments: ReadonlySet<string>, more: boolean): void;
  stop(): Promise<void>;
}

export function startSegmentsBackground(deps: {
  db: Db;
  feed: SegmentChangeFeed;
  config: Pick<SegmentsConfig, 'pollMs' | 'queryTimeoutMs' | 'statsIntervalMs' | 'databaseUrl'>;
  logger: Logger;
  metrics: SegmentsMetrics;
  now: () => Date;
  wakeRelay: () => void;
}): SegmentsBackground {
  const dueStats = new Set<string>();
  const noteStats = (p: Published) => {
    for (const id of p.segments) dueStats.add(id);
  };

  const stats = startWakeLoop({
    name: 'segment statistics',
    intervalMs: deps.config.statsIntervalMs,
    logger: deps.logger,
    pass: async () => {
      const ids = [...dueStats].sort();
      dueStats.clear();
      try {
        await refreshStats(deps.db, ids);
      } catch (err) {
        for (const id of ids) dueStats.add(id);
        throw err;
      }
    },
  });

  const publish = startWakeLoop({
    name: 'segment-changes publisher',
    intervalMs: deps.config.pollMs,
    logger: deps.logger,
    pass: async () => {
      for (;;) {
        const p = await deps.db.transaction('segments.publish', (tx) =>
          publishTransitions(tx, deps.feed, transactionOutbox(tx, deps.feed.producer)),
        );
        deps.metrics.published.inc(p.entered + p.exited);
        noteStats(p);
        if (p.entered + p.exited > 0) deps.wakeRelay();
        if (!p.more || p.entered + p.exited === 0) return;
      }
    },
  });

  const evaluate = startWakeLoop({
    name: 'segment evaluation',
    intervalMs: deps.config.pollMs,
    logger: deps.logger,
    pass: async () => {
      const results = await evaluatePendingSegments({
        db: deps.db,
        databaseUrl: deps.config.databaseUrl,
        feed: deps.feed,
        queryTimeoutMs: deps.config.queryTimeoutMs,
        now: deps.now,
        logger: deps.logger,
        metrics: deps.metrics,
      });
      for (const p of results) {
        deps.metrics.published.inc(p.entered + p.exited);
        noteStats(p);
        if (p.more) publish.wake();
      }
      if (results.length > 0) deps.wakeRelay();
    },
  });

  const listener = listen({
    connectionString: deps.config.databaseUrl,
    applicationName: `segments-listen/${process.pid}`,
    channels: ['cdp_segments', 'cdp_segment_changes'],
    logger: deps.logger,
    onNotify: (channel) => {
      if (channel !== 'cdp_segment_changes') evaluate.wake();
      if (channel !== 'cdp_segments') publish.wake();
    },
  });

  return {
    membersChanged(segments, more) {
      // No wake for the statistics: under load they would be recomputed after every batch.
      for (const id of segments) dueStats.add(id);
      if (more) publish.wake();
    },
    async stop() {
      await listener.stop();
      await Promise.all([evaluate.stop(), publish.stop(), stats.stop()]);
    },
  };
}
