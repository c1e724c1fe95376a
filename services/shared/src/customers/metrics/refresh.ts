/**
 * The whole customers table walked in id order, one bounded slice per transaction: the jobs
 * behind the seed's scheduled_jobs rows and `npm run customers:recompute`. A slice locks at most
 * `sliceSize` customers for the time of its transaction, so the processors' batches wait for it
 * briefly, never for the whole walk.
 */
import type { Db, Tx } from '../../pg/gateway.js';
import { transactionOutbox } from '../../pipeline/outbox.js';
import { changeRecords, type ChangeFeed } from '../change.js';
import { updateCustomerMetrics, type RowChange } from './incremental.js';
import { recomputeCustomers } from './repair.js';
import type { MetricColumn } from './values.js';

export interface RefreshOptions {
  /** Customers per transaction (default 1,000; 200 for the repair). */
  sliceSize?: number;
  /** Called after each slice, for progress output and run statistics. */
  onProgress?: (progress: RefreshProgress) => void;
  /** Stops between slices when aborted (a job's timeout_seconds). */
  signal?: AbortSignal;
  /** Where the changes are published; null: not published (a dry run, a test). */
  feed?: ChangeFeed | null;
  /** Only these customers (customers.id): a repair of some, or a test's own. */
  only?: readonly string[];
}

export interface RefreshProgress {
  scanned: number;
  changed: number;
}

const DEFAULT_SLICE = 1_000;
const REPAIR_SLICE = 200;

/**
 * The clock-driven columns (scores, lifecycle stage, days_since_last_order, age_group) of every
 * customer brought to `asOf`; only rows whose values change are written and published. The job
 * behind the seed's `daily_engagement_scores` row.
 */
export async function refreshClockDrivenMetrics(
  db: Db,
  asOf: Date,
  options: RefreshOptions = {},
): Promise<RefreshProgress> {
  return walk(db, options, 'metrics.refresh', async (tx, ids) => {
    const changes = await updateCustomerMetrics(tx, ids, { asOfMs: asOf.getTime(), skipIdle: true });
    await publish(tx, options.feed, changes, asOf);
    return { changes, changed: changes.filter((c) => c.written).length };
  });
}

export interface RepairProgress extends RefreshProgress {
  /** Corrected columns and how many customers had each wrong. */
  columns: Partial<Record<MetricColumn, number>>;
}

/**
 * Every computed column of every customer recomputed from the raw tables and corrected where it
 * differs (`changed` counts the customers corrected: normally 0). The job behind
 * `daily_customer_metrics` and `npm run customers:recompute`.
 */
export async function repairCustomerMetrics(
  db: Db,
  asOf: Date,
  options: RefreshOptions = {},
): Promise<RepairProgress> {
  const columns: RepairProgress['columns'] = {};
  // Smaller slices than the refresh: each customer's whole history is read under its lock, and the
  // processors' batches for those customers wait meanwhile.
  const sliced = { ...options, sliceSize: options.sliceSize ?? REPAIR_SLICE };
  const progress = await walk(db, sliced, 'metrics.repair', async (tx, ids) => {
    const { changes, corrected } = await recomputeCustomers(tx, ids, asOf.getTime());
    for (const c of corrected) for (const col of c.columns) columns[col] = (columns[col] ?? 0) + 1;
    await publish(tx, options.feed, changes, asOf);
    return { changes, changed: corrected.length };
  });
  return { ...progress, columns };
}

async function publish(
  tx: Tx,
  feed: ChangeFeed | null | undefined,
  changes: readonly RowChange[],
  asOf: Date,
): Promise<void> {
  if (!feed) return;
  await transactionOutbox(tx, feed.producer).add(changeRecords(feed, changes, () => asOf.getTime()));
}

/**
 * customers.id in id order, `sliceSize` at a time (default 1,000): every customer, or only the
 * given ones. Checks the signal before each slice.
 */
export async function* customerSlices(
  db: Db,
  options: Pick<RefreshOptions, 'only' | 'sliceSize' | 'signal'>,
  tag: string,
): AsyncGenerator<string[]> {
  const size = options.sliceSize ?? DEFAULT_SLICE;
  const only = options.only ? [...new Set(options.only)].sort() : undefined;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    options.signal?.throwIfAborted();
    const ids = only
      ? only.filter((id) => id > after).slice(0, size)
      : (
          await db.query<{ id: string }>(
            `${tag}.next-slice`,
            'SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2',
            [after, size],
          )
        ).rows.map((r) => r.id);
    if (ids.length === 0) return;
    yield ids;
    after = ids[ids.length - 1]!;
  }
}

async function walk(
  db: Db,
  options: RefreshOptions,
  tag: string,
  slice: (tx: Tx, ids: string[]) => Promise<{ changes: RowChange[]; changed: number }>,
): Promise<RefreshProgress> {
  const progress: RefreshProgress = { scanned: 0, changed: 0 };
  for await (const ids of customerSlices(db, options, tag)) {
    const result = await db.transaction(tag, (tx) => slice(tx, ids));
    progress.scanned += ids.length;
    progress.changed += result.changed;
    options.onProgress?.({ ...progress });
  }
  return progress;
}
