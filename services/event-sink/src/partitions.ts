import type { Db } from '../../shared/src/pg/gateway.js';

/** `2026-11` for a time, by UTC month: the partition granularity of customer_events. */
export const monthKey = (d: Date): string => d.toISOString().slice(0, 7);

/**
 * Makes sure a customer_events partition exists for every month a batch touches, before the
 * batch's own transaction (creating one locks the parent briefly; we keep that out of the COPY
 * transaction). Months known to exist are remembered, so the common case costs nothing.
 */
export class PartitionCache {
  private readonly known = new Set<string>();

  constructor(private readonly db: Db) {}

  async ensure(times: Iterable<Date>): Promise<void> {
    const missing = new Map<string, Date>();
    for (const t of times) {
      const key = monthKey(t);
      if (!this.known.has(key) && !missing.has(key)) missing.set(key, t);
    }
    for (const [key, t] of missing) {
      await this.db.query('sink.ensure-partition', 'SELECT ensure_customer_events_partition($1)', [t]);
      this.known.add(key);
    }
  }
}
