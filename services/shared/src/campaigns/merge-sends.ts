/**
 * The campaign part of a profile merge (identities' move-rows.ts calls it once, before `from` is
 * deleted): `from`'s sends move to `into`, two sends of one campaign and variant become one
 * (combine-sends.ts), the events, conversions and suppressions follow, the orders of the merged
 * profile are attributed again (its clicks may convert the other profile's orders), and the
 * counters change by exactly what campaign_sends changed (send-ledger.ts).
 */
import type { Queryable } from '../pg/gateway.js';
import { combineSends, type SendRowJson } from './combine-sends.js';
import { recomputeSendConversions, reattribute } from './conversions.js';
import { lockCustomersForAttribution } from './customer-locks.js';
import { SendLedger } from './send-ledger.js';

/** Returns how many of `from`'s sends moved or were combined into `into`'s. */
export async function mergeCampaignRows(tx: Queryable, from: string, into: string): Promise<number> {
  await lockCustomersForAttribution(tx, [from, into]);
  const ledger = new SendLedger();
  const captured = await ledger.captureCustomers(tx, [from, into]);
  // Where `from`'s sends will be: new keys of `into` (zero before), unless combined with one it has.
  await ledger.capture(
    tx,
    captured.filter((k) => k.customerId === from).map((k) => ({ ...k, customerId: into })),
  );

  const { rows } = await tx.query<{ f: SendRowJson; i: SendRowJson }>(
    'campaigns.merge-pairs',
    `SELECT row_to_json(f) AS f, row_to_json(i) AS i
     FROM campaign_sends f JOIN campaign_sends i
       ON i.campaign_id = f.campaign_id AND i.variant IS NOT DISTINCT FROM f.variant
     WHERE f.customer_id = $1 AND i.customer_id = $2
     ORDER BY i.id`,
    [from, into],
  );
  if (rows.length > 0) {
    const combined = rows.map((r) => combineSends(r.i, r.f));
    await tx.query(
      'campaigns.merge-combine',
      `UPDATE campaign_sends s SET
         send_status = c.send_status, sent_at = c.sent_at, delivered_at = c.delivered_at, opened_at = c.opened_at,
         first_click_at = c.first_click_at, last_click_at = c.last_click_at, total_clicks = c.total_clicks,
         unsubscribed_at = c.unsubscribed_at, complained_at = c.complained_at, converted_at = c.converted_at,
         conversion_value = c.conversion_value, conversion_event = c.conversion_event,
         subject_line = c.subject_line, personalized_content = c.personalized_content,
         message_size_bytes = c.message_size_bytes, recipient_email = c.recipient_email,
         recipient_phone = c.recipient_phone, delivery_attempt = c.delivery_attempt,
         bounced_at = c.bounced_at, bounce_reason = c.bounce_reason, failed_at = c.failed_at,
         failure_reason = c.failure_reason, external_message_id = c.external_message_id,
         service_provider = c.service_provider, created_at = c.created_at
       FROM jsonb_populate_recordset(NULL::campaign_sends, $1::jsonb) c
       WHERE s.id = c.id`,
      [JSON.stringify(combined)],
    );
    await tx.query('campaigns.merge-drop-combined', 'DELETE FROM campaign_sends WHERE id = ANY($1::uuid[])', [
      rows.map((r) => r.f.id),
    ]);
  }
  const moved = await tx.query(
    'campaigns.merge-move-sends',
    'UPDATE campaign_sends SET customer_id = $2 WHERE customer_id = $1',
    [from, into],
  );
  await tx.query(
    'campaigns.merge-move-events',
    'UPDATE campaign_send_events SET customer_id = $2 WHERE customer_id = $1',
    [from, into],
  );
  await tx.query(
    'campaigns.merge-move-conversions',
    'UPDATE campaign_conversions SET customer_id = $2 WHERE customer_id = $1',
    [from, into],
  );
  await tx.query(
    'campaigns.merge-suppressions',
    `WITH gone AS (DELETE FROM campaign_suppressions WHERE customer_id = $1 RETURNING *)
     INSERT INTO campaign_suppressions AS s (customer_id, channel, unsubscribed_at, complained_at, campaign_id)
     SELECT $2, channel, unsubscribed_at, complained_at, campaign_id FROM gone ORDER BY channel
     ON CONFLICT (customer_id, channel) DO UPDATE SET
       unsubscribed_at = LEAST(s.unsubscribed_at, EXCLUDED.unsubscribed_at),
       complained_at = LEAST(s.complained_at, EXCLUDED.complained_at),
       campaign_id = coalesce(s.campaign_id, EXCLUDED.campaign_id)`,
    [from, into],
  );

  // The merged profile's orders meet the other profile's clicks and sends.
  const { sends } = await reattribute(
    tx,
    { customers: { ids: [into], all: true, since: null, campaignIds: [] } },
    ledger,
  );
  await recomputeSendConversions(tx, sends);
  await ledger.settle(tx);
  return (moved.rowCount ?? 0) + rows.length;
}
