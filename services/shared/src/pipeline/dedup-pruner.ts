import type { Db } from '../pg/gateway.js';
import type { Logger } from '../logger.js';

/**
 * Deletes message_dedup entries older than the retention, in small slices so it never holds
 * long locks. The retention is how far back a duplicate messageId is still recognised: client
 * retries and replayed batches arrive within minutes or hours, so days are ample, and the table
 * stays small enough that its index lives in memory.
 */
export function startDedupPruner(
  db: Db,
  retentionDays: number,
  logger: Logger,
  everyMs = 10 * 60_000,
): { stop(): void } {
  let running = false;
  const prune = async () => {
    if (running) return;
    running = true;
    try {
      let total = 0;
      for (;;) {
        const { rowCount } = await db.query(
          'dedup.prune',
          `DELETE FROM message_dedup WHERE ctid IN (
             SELECT ctid FROM message_dedup WHERE seen_at < now() - make_interval(days => $1) LIMIT 10000)`,
          [retentionDays],
        );
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < 10_000) break;
      }
      if (total > 0) logger.info({ deleted: total }, 'pruned old de-duplication entries');
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message } }, 'dedup pruning failed; will try again');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void prune(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
