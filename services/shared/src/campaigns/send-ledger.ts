/**
 * Counters by difference. Before a writer changes a send it captures the send's contribution
 * (locking the row); when it is done, `settle` reads the contribution of every captured send again
 * and adds after minus before to its campaign and variant. Whatever the writer did to the sends in
 * between (fold events into them, convert them, combine two into one, move them to another
 * customer), the counters change by exactly what campaign_sends changed: invariant 4 is kept
 * without counting a campaign again.
 */
import type { Queryable } from '../pg/gateway.js';
import { addCounts, contributionOf, zeroCounts, type CountedSend, type Counts } from './contribution.js';
import { applyCounterDeltas } from './counters.js';
import { keyArrays, sendKeyString, SEND_MATCHES_KEY, variantKeyString, type SendKey } from './send-key.js';

type Row = {
  campaign_id: string;
  customer_id: string;
  variant: string | null;
  send_status: string | null;
  opened: boolean;
  total_clicks: number | null;
  unsubscribed: boolean;
  converted: boolean;
  conversion_cents: number | null;
};

const COUNTED_COLUMNS = `s.campaign_id, s.customer_id, s.variant, s.send_status, s.opened_at IS NOT NULL AS opened,
  s.total_clicks, s.unsubscribed_at IS NOT NULL AS unsubscribed, s.converted_at IS NOT NULL AS converted,
  round(s.conversion_value * 100)::bigint AS conversion_cents`;

const countedOf = (r: Row): CountedSend => ({
  status: r.send_status ?? 'queued',
  opened: r.opened,
  totalClicks: r.total_clicks ?? 0,
  unsubscribed: r.unsubscribed,
  converted: r.converted,
  conversionCents: r.conversion_cents ?? 0,
});

export class SendLedger {
  private readonly captured = new Map<string, SendKey>();
  private readonly before = new Map<string, Counts>();

  isCaptured(k: SendKey): boolean {
    return this.captured.has(sendKeyString(k));
  }

  /** Locks and remembers the sends of `keys` not captured yet (absent sends count zero). */
  async capture(tx: Queryable, keys: Iterable<SendKey>): Promise<void> {
    const fresh = [...keys].filter((k) => !this.captured.has(sendKeyString(k)));
    if (fresh.length === 0) return;
    for (const k of fresh) this.captured.set(sendKeyString(k), k);
    const [campaigns, customers, variants] = keyArrays(fresh);
    const { rows } = await tx.query<Row>(
      'campaigns.sends-capture',
      `SELECT ${COUNTED_COLUMNS}
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(campaign_id, customer_id, variant)
       JOIN campaign_sends s ON ${SEND_MATCHES_KEY}
       ORDER BY s.id FOR UPDATE OF s`,
      [campaigns, customers, variants],
    );
    this.remember(rows);
  }

  /** Locks and remembers every send of these customers (a merge). */
  async captureCustomers(tx: Queryable, customerIds: readonly string[]): Promise<SendKey[]> {
    const { rows } = await tx.query<Row>(
      'campaigns.sends-capture-customers',
      `SELECT ${COUNTED_COLUMNS} FROM campaign_sends s WHERE s.customer_id = ANY($1::uuid[])
       ORDER BY s.id FOR UPDATE`,
      [customerIds],
    );
    const keys = rows
      .map((r) => ({ campaignId: r.campaign_id, customerId: r.customer_id, variant: r.variant }))
      .filter((k) => !this.captured.has(sendKeyString(k)));
    for (const k of keys) this.captured.set(sendKeyString(k), k);
    this.remember(rows.filter((r) => !this.before.has(sendKeyString(keyOf(r)))));
    return keys;
  }

  /** Adds after minus before of every captured send to its campaign's and variant's counters. */
  async settle(tx: Queryable): Promise<void> {
    if (this.captured.size === 0) return;
    const keys = [...this.captured.values()];
    const [campaigns, customers, variants] = keyArrays(keys);
    const { rows } = await tx.query<Row>(
      'campaigns.sends-settle',
      `SELECT ${COUNTED_COLUMNS}
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(campaign_id, customer_id, variant)
       JOIN campaign_sends s ON ${SEND_MATCHES_KEY}`,
      [campaigns, customers, variants],
    );
    const deltas = new Map<string, { campaignId: string; variant: string | null; counts: Counts }>();
    const deltaOf = (campaignId: string, variant: string | null) => {
      const k = variantKeyString(campaignId, variant);
      let d = deltas.get(k);
      if (!d) deltas.set(k, (d = { campaignId, variant, counts: zeroCounts() }));
      return d.counts;
    };
    for (const k of keys) {
      const before = this.before.get(sendKeyString(k));
      if (before) addCounts(deltaOf(k.campaignId, k.variant), before, -1);
    }
    for (const r of rows) addCounts(deltaOf(r.campaign_id, r.variant), contributionOf(countedOf(r)));
    await applyCounterDeltas(tx, [...deltas.values()]);
    this.captured.clear();
    this.before.clear();
  }

  private remember(rows: readonly Row[]): void {
    for (const r of rows) this.before.set(sendKeyString(keyOf(r)), contributionOf(countedOf(r)));
  }
}

const keyOf = (r: Row): SendKey => ({
  campaignId: r.campaign_id,
  customerId: r.customer_id,
  variant: r.variant,
});
