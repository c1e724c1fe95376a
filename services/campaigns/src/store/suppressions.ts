/**
 * campaign_suppressions: an unsubscribe or a spam complaint marks the customer on the campaign's
 * channel (campaigns.campaign_type), where targeting finds it (campaign_target_count()).
 */
import type { Tx } from '../../../shared/src/pg/gateway.js';

export interface Suppression {
  customerId: string;
  channel: string;
  reason: 'unsubscribed' | 'complained';
  at: number;
  campaignId: string;
}

/** Records the marks; returns how many customers were newly marked, by reason. */
export async function recordSuppressions(
  tx: Tx,
  marks: readonly Suppression[],
): Promise<Record<string, number>> {
  if (marks.length === 0) return {};
  const rows = marks.map((m) => ({
    customer_id: m.customerId,
    channel: m.channel,
    unsubscribed_at: m.reason === 'unsubscribed' ? new Date(m.at).toISOString() : null,
    complained_at: m.reason === 'complained' ? new Date(m.at).toISOString() : null,
    campaign_id: m.campaignId,
  }));
  const { rows: out } = await tx.query<{ unsubscribed: boolean; complained: boolean }>(
    'campaigns.suppressions',
    `WITH input AS (
       SELECT customer_id, channel, min(unsubscribed_at) AS unsubscribed_at, min(complained_at) AS complained_at,
              min(campaign_id::text)::uuid AS campaign_id
       FROM jsonb_populate_recordset(NULL::campaign_suppressions, $1::jsonb)
       GROUP BY customer_id, channel
     ), before AS (
       SELECT s.customer_id, s.channel, s.unsubscribed_at, s.complained_at
       FROM campaign_suppressions s JOIN input i USING (customer_id, channel)
     ), written AS (
       INSERT INTO campaign_suppressions AS s (customer_id, channel, unsubscribed_at, complained_at, campaign_id)
       SELECT customer_id, channel, unsubscribed_at, complained_at, campaign_id FROM input ORDER BY customer_id, channel
       ON CONFLICT (customer_id, channel) DO UPDATE SET
         unsubscribed_at = LEAST(s.unsubscribed_at, EXCLUDED.unsubscribed_at),
         complained_at = LEAST(s.complained_at, EXCLUDED.complained_at)
       RETURNING customer_id, channel, unsubscribed_at, complained_at
     )
     SELECT (w.unsubscribed_at IS NOT NULL AND b.unsubscribed_at IS NULL) AS unsubscribed,
            (w.complained_at IS NOT NULL AND b.complained_at IS NULL) AS complained
     FROM written w LEFT JOIN before b USING (customer_id, channel)`,
    [JSON.stringify(rows)],
  );
  return {
    unsubscribed: out.filter((r) => r.unsubscribed).length,
    complained: out.filter((r) => r.complained).length,
  };
}
