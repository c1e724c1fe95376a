import type { Db } from '../pg/gateway.js';
import type { Logger } from '../logger.js';

// Every processor instance runs a pruner; this lock lets one slice run at a time per database,
// so N processors do not multiply the delete load (and an idle round costs one SELECT).
const PRUNE_LOCK = 0x6364_7002;

/**
 * Deletes message_dedup entries older than the retention, in slices of `sliceRows` (each its own
 * short transaction, so it never holds long locks). Returns the rows deleted and the slices run;
 * stops early when another instance holds the pruning lock.
 */
export async function pruneDedupOnce(
  db: Db,
  retentionDays: number,
  sliceRows = 10_000,
): Promise<{ deleted: number; slices: number }> {
  let deleted = 0;
  let slices = 0;
  for (;;) {
    const n = await db.transaction('dedup.prune', async (tx) => {
      const { rows } = await tx.query<{ ok: boolean }>(
        'dedup.prune-lock',
        'SELECT pg_try_advisory_xact_lock($1) AS ok',
        [PRUNE_LOCK],
      );
      if (!rows[0]!.ok) return undefined;
      const { rowCount } = await tx.query(
        'dedup.prune-slice',
        `DELETE FROM message_dedup WHERE ctid IN (
           SELECT ctid FROM message_dedup WHERE seen_at < now() - make_interval(days => $1) LIMIT $2)`,
        [retentionDays, sliceRows],
      );
      return rowCount ?? 0;
    });
    if (n === undefined) break;
    slices++;
    deleted += n;
    if (n < sliceRows) break;
  }
  return { deleted, slices };
}

/**
 * Prunes every `everyMs`. The retention is how far back a duplicate messageId is still recognised:
 * client retries and replayed batches arrive within minutes or hours, so days are ample, and the
 * table stays small enough that its index lives in memory.
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
      const { deleted } = await pruneDedupOnce(db, retentionDays);
      if (deleted > 0) logger.info({ deleted }, 'pruned old de-duplication entries');
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
