/** campaign_sends' engagement columns, written from each send's fold (the rest of the row is left alone). */
import type { Engagement } from '../../../shared/src/campaigns/fold-send.js';
import type { SendKey } from '../../../shared/src/campaigns/send-key.js';
import type { Tx } from '../../../shared/src/pg/gateway.js';

const TIME_COLUMNS = {
  sent_at: 'sentAt',
  delivered_at: 'deliveredAt',
  opened_at: 'openedAt',
  first_click_at: 'firstClickAt',
  last_click_at: 'lastClickAt',
  unsubscribed_at: 'unsubscribedAt',
  complained_at: 'complainedAt',
  bounced_at: 'bouncedAt',
  failed_at: 'failedAt',
} as const satisfies Record<string, keyof Engagement>;

const OTHER_COLUMNS = {
  send_status: 'status',
  total_clicks: 'totalClicks',
  bounce_reason: 'bounceReason',
  failure_reason: 'failureReason',
  delivery_attempt: 'deliveryAttempt',
  external_message_id: 'externalMessageId',
  service_provider: 'serviceProvider',
} as const satisfies Record<string, keyof Engagement>;

const COLUMNS = [...Object.keys(TIME_COLUMNS), ...Object.keys(OTHER_COLUMNS)];

const SQL = `INSERT INTO campaign_sends AS s (campaign_id, customer_id, variant, ${COLUMNS.join(', ')})
  SELECT campaign_id, customer_id, variant, ${COLUMNS.join(', ')}
  FROM jsonb_populate_recordset(NULL::campaign_sends, $1::jsonb) ORDER BY campaign_id, customer_id, variant
  ON CONFLICT (campaign_id, customer_id, variant) DO UPDATE SET
    ${COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  WHERE (${COLUMNS.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM (${COLUMNS.map((c) => `EXCLUDED.${c}`).join(', ')})`;

/** Inserts the sends that are new and updates those whose engagement changed. */
export async function writeEngagement(
  tx: Tx,
  sends: readonly { key: SendKey; engagement: Engagement }[],
): Promise<void> {
  if (sends.length === 0) return;
  const rows = sends.map(({ key, engagement: e }) => {
    const row: Record<string, unknown> = {
      campaign_id: key.campaignId,
      customer_id: key.customerId,
      variant: key.variant,
    };
    for (const [column, name] of Object.entries(TIME_COLUMNS)) {
      const ms = e[name];
      row[column] = ms === null ? null : new Date(ms).toISOString();
    }
    for (const [column, name] of Object.entries(OTHER_COLUMNS)) row[column] = e[name];
    return row;
  });
  await tx.query('campaigns.sends-write', SQL, [JSON.stringify(rows)]);
}
