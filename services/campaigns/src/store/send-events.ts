/**
 * campaign_send_events: every provider event applied, once per (source, messageId). Inserting is
 * the de-duplication (a messageId seen before, however long ago, inserts nothing), and the rows
 * are what each send is folded from.
 */
import type { EventSummary } from '../../../shared/src/campaigns/fold-send.js';
import type { CampaignEventType } from '../../../shared/src/campaigns/send-status.js';
import { keyArrays, sendKeyString, type SendKey } from '../../../shared/src/campaigns/send-key.js';
import type { Tx } from '../../../shared/src/pg/gateway.js';

export interface EventRow extends SendKey {
  sourceKey: string;
  messageId: string;
  event: CampaignEventType;
  occurredAt: number;
  receivedAt: number;
  url: string | null;
  valueCents: number | null;
  reason: string | null;
}

const dedupKey = (sourceKey: string, messageId: string) => `${sourceKey}\u0000${messageId}`;
export const eventKey = (r: { sourceKey: string; messageId: string }) => dedupKey(r.sourceKey, r.messageId);

/** The latest occurred_at each send's events had before this batch (for the out-of-order count). */
export async function latestEventTimes(tx: Tx, keys: readonly SendKey[]): Promise<Map<string, number>> {
  const [campaigns, customers, variants] = keyArrays(keys);
  const { rows } = await tx.query<{
    campaign_id: string;
    customer_id: string;
    variant: string | null;
    ms: number;
  }>(
    'campaigns.events-latest',
    `SELECT k.campaign_id, k.customer_id, k.variant,
            floor(extract(epoch FROM max(e.occurred_at)) * 1000)::bigint AS ms
     FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(campaign_id, customer_id, variant)
     JOIN campaign_send_events e ON e.campaign_id = k.campaign_id AND e.customer_id = k.customer_id
       AND e.variant IS NOT DISTINCT FROM k.variant
     GROUP BY 1, 2, 3`,
    [campaigns, customers, variants],
  );
  return new Map(
    rows.map((r) => [
      sendKeyString({ campaignId: r.campaign_id, customerId: r.customer_id, variant: r.variant }),
      Number(r.ms),
    ]),
  );
}

/** Inserts the rows not seen before; returns the (source, messageId) keys it inserted. */
export async function insertEvents(tx: Tx, rows: readonly EventRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const json = rows.map((r) => ({
    source_key: r.sourceKey,
    message_id: r.messageId,
    campaign_id: r.campaignId,
    customer_id: r.customerId,
    variant: r.variant,
    event: r.event,
    occurred_at: new Date(r.occurredAt).toISOString(),
    received_at: new Date(r.receivedAt).toISOString(),
    url: r.url,
    value: r.valueCents === null ? null : (r.valueCents / 100).toFixed(2),
    reason: r.reason,
  }));
  const { rows: inserted } = await tx.query<{ source_key: string; message_id: string }>(
    'campaigns.events-insert',
    `INSERT INTO campaign_send_events (source_key, message_id, campaign_id, customer_id, variant, event,
       occurred_at, received_at, url, value, reason)
     SELECT source_key, message_id, campaign_id, customer_id, variant, event, occurred_at, received_at, url,
            value, reason
     FROM jsonb_populate_recordset(NULL::campaign_send_events, $1::jsonb) ORDER BY source_key, message_id
     ON CONFLICT (source_key, message_id) DO NOTHING
     RETURNING source_key, message_id`,
    [JSON.stringify(json)],
  );
  return new Set(inserted.map((r) => dedupKey(r.source_key, r.message_id)));
}

/** Each send's events, summarised per event type (what fold-send.ts takes). */
export async function eventSummaries(tx: Tx, keys: readonly SendKey[]): Promise<Map<string, EventSummary[]>> {
  const [campaigns, customers, variants] = keyArrays(keys);
  const { rows } = await tx.query<{
    campaign_id: string;
    customer_id: string;
    variant: string | null;
    event: CampaignEventType;
    first_ms: number;
    last_ms: number;
    n: number;
    last_reason: string | null;
    first_message_id: string;
    first_source_name: string | null;
  }>(
    'campaigns.events-summaries',
    `SELECT k.campaign_id, k.customer_id, k.variant, e.event,
            floor(extract(epoch FROM min(e.occurred_at)) * 1000)::bigint AS first_ms,
            floor(extract(epoch FROM max(e.occurred_at)) * 1000)::bigint AS last_ms,
            count(*)::int AS n,
            (array_agg(e.reason ORDER BY e.occurred_at DESC, e.source_key DESC, e.message_id DESC)
               FILTER (WHERE e.reason IS NOT NULL))[1] AS last_reason,
            (array_agg(e.message_id ORDER BY e.occurred_at, e.source_key, e.message_id))[1] AS first_message_id,
            (array_agg(s.name ORDER BY e.occurred_at, e.source_key, e.message_id))[1] AS first_source_name
     FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(campaign_id, customer_id, variant)
     JOIN campaign_send_events e ON e.campaign_id = k.campaign_id AND e.customer_id = k.customer_id
       AND e.variant IS NOT DISTINCT FROM k.variant
     LEFT JOIN sources s ON s.id::text = e.source_key
     GROUP BY 1, 2, 3, 4`,
    [campaigns, customers, variants],
  );
  const out = new Map<string, EventSummary[]>();
  for (const r of rows) {
    const k = sendKeyString({ campaignId: r.campaign_id, customerId: r.customer_id, variant: r.variant });
    const summary: EventSummary = {
      event: r.event,
      first: Number(r.first_ms),
      last: Number(r.last_ms),
      count: r.n,
      lastReason: r.last_reason,
      firstMessageId: r.first_message_id,
      firstSourceName: r.first_source_name,
    };
    const list = out.get(k);
    if (list) list.push(summary);
    else out.set(k, [summary]);
  }
  return out;
}
