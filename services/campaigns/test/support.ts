/** Campaigns tests: records as the topic carries them, campaigns to send for, the invariant to check. */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import { createDb, type Queryable } from '../../shared/src/pg/gateway.js';
import { transactionOutbox } from '../../shared/src/pipeline/outbox.js';
import type { Decoded } from '../../shared/src/pipeline/processor.js';
import { EARLIEST_EVENT_MS } from '../../shared/src/time/occurred-at.js';
import { config, randomName } from '../../shared/test/support.js';
import { createOrdersProcessor } from '../../orders/src/processor.js';
import { update } from '../../orders/test/fixtures.js';
import { orderRecord } from '../../orders/test/fixtures.js';
import type { OrderRecord } from '../../orders/src/mapping/order-record.js';
import {
  mapCampaignEvent,
  type CampaignEvent,
  type CampaignEventRecord,
} from '../src/mapping/campaign-event.js';
import { createCampaignsProcessor } from '../src/processor.js';

export { randomName, orderRecord };
export const db = createDb({
  connectionString: config.databaseUrl,
  service: 'campaigns-test',
  registry: new Registry(),
});
export const codec = new AvroCodec(config.schemaRegistryUrl);
export const limits = { maxFutureMs: 24 * 3600_000, earliestMs: EARLIEST_EVENT_MS };

/** A fixed past instant, so event times are plausible and tests can place records around it. */
export const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
export const at = (minutes: number): number => T0 + minutes * 60_000;

/** A cdp.campaign-events value: nothing set but what `e` sets. */
export function campaignEvent(
  e: Partial<CampaignEventRecord> & Pick<CampaignEventRecord, 'campaign_id' | 'event'>,
): CampaignEventRecord {
  const timestamp = e.timestamp ?? T0;
  return {
    messageId: randomUUID(),
    sourceId: null,
    userId: null,
    anonymousId: null,
    variant: null,
    url: null,
    value: null,
    reason: null,
    sentAt: null,
    timestamp,
    receivedAt: timestamp,
    ...e,
  };
}

let platformUser: Promise<string> | undefined;
function createdBy(): Promise<string> {
  platformUser ??= db
    .query<{ id: string }>(
      'campaigns-test.platform-user',
      `INSERT INTO platform_users (email, password_hash, name, role) VALUES ($1, 'x', 'Test', 'viewer') RETURNING id`,
      [`${randomName('u')}@test.invalid`],
    )
    .then((r) => r.rows[0]!.id);
  return platformUser;
}

export async function makeCampaign(
  o: { budget?: number | null; status?: string; type?: string; start?: Date; ab?: boolean } = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'campaigns-test.campaign',
    `INSERT INTO campaigns (name, campaign_type, channel, message_content, created_by, budget, status, start_date, is_ab_test)
     VALUES ($1, $2, $2, '{}', $3, $4, $5, $6, $7) RETURNING id`,
    [
      randomName('campaign'),
      o.type ?? 'email',
      await createdBy(),
      o.budget ?? null,
      o.status ?? 'active',
      o.start ?? new Date(),
      o.ab ?? false,
    ],
  );
  return rows[0]!.id;
}

export function newProcessor() {
  const registry = new Registry();
  const definition = createCampaignsProcessor(
    { codec, registry, db },
    {
      groupId: randomName('campaigns-test'),
      topicPrefix: '',
      maxFutureMs: limits.maxFutureMs,
      campaignCacheTtlMs: 60_000,
      lateAfterMs: 3_600_000,
    },
  );
  return { definition, registry };
}

let offset = 0;
const decoded = <T>(value: T, topic: string): Decoded<T> => ({
  value,
  message: {} as KafkaMessage,
  topic,
  partition: 0,
  offset: offset++,
});

type Definition = ReturnType<typeof newProcessor>['definition'];

export function mapped(r: CampaignEventRecord): CampaignEvent {
  const m = mapCampaignEvent(r, limits);
  if (!m.ok) throw new Error(`${m.reason}: ${m.errors.join('; ')}`);
  return m.value;
}

/** The campaigns definition's write on `records` in one transaction, as the runtime calls it. */
export function write(definition: Definition, records: readonly CampaignEventRecord[]) {
  return db.transaction('campaigns-test.write', (tx) =>
    definition.write(
      tx,
      records.map((r) => decoded(mapped(r), 'cdp.campaign-events')),
      { outbox: transactionOutbox(tx, 'campaigns') },
    ),
  );
}

const orders = createOrdersProcessor(
  { codec, registry: new Registry() },
  { groupId: 'campaigns-test-orders', topicPrefix: '', maxFutureMs: limits.maxFutureMs },
);

/** The orders processor's write on order records, as its runtime calls it. */
export function writeOrders(records: readonly OrderRecord[]) {
  return db.transaction('campaigns-test.orders', (tx) =>
    orders.write(
      tx,
      records.map((r) => decoded(update(r), 'cdp.orders')),
      { outbox: transactionOutbox(tx, 'orders') },
    ),
  );
}

export type SendRow = Record<string, unknown> & {
  send_status: string;
  total_clicks: number;
  conversion_value: string | null;
};

export async function sendOf(campaignId: string, userId: string, variant: string | null = null) {
  const { rows } = await db.query<SendRow>(
    'campaigns-test.send',
    `SELECT s.* FROM campaign_sends s JOIN customer_identities i ON i.customer_id = s.customer_id
     WHERE s.campaign_id = $1 AND i.external_id = $2 AND s.variant IS NOT DISTINCT FROM $3`,
    [campaignId, userId, variant],
  );
  return rows[0];
}

export type Counters = {
  total_sent: number;
  total_delivered: number;
  total_bounced: number;
  total_opened: number;
  total_clicked: number;
  total_unsubscribed: number;
  total_converted: number;
  total_revenue_attributed: string;
  delivery_rate: string;
  open_rate: string;
  click_rate: string;
  conversion_rate: string;
  roi?: string;
};

export async function countersOf(
  campaignId: string,
): Promise<Counters & { roi: string; total_targeted: number }> {
  const { rows } = await db.query<Counters & { roi: string; total_targeted: number }>(
    'campaigns-test.counters',
    `SELECT total_sent, total_delivered, total_bounced, total_opened, total_clicked, total_unsubscribed,
            total_converted, total_revenue_attributed, delivery_rate, open_rate, click_rate, conversion_rate, roi,
            total_targeted
     FROM campaigns WHERE id = $1`,
    [campaignId],
  );
  return rows[0]!;
}

/**
 * Contract invariant 4 for these campaigns: each campaign's counters and rates, and each variant's,
 * against counting campaign_sends from scratch. Returns the differences (empty: it holds).
 */
export async function invariantViolations(q: Queryable, campaignIds: readonly string[]): Promise<string[]> {
  const { rows } = await q.query<{ what: string }>(
    'campaigns-test.invariant',
    `WITH n AS (
       SELECT c.id, coalesce(sum(n.total_sent), 0)::int AS sent, coalesce(sum(n.total_delivered), 0)::int AS delivered,
              coalesce(sum(n.total_bounced), 0)::int AS bounced, coalesce(sum(n.total_opened), 0)::int AS opened,
              coalesce(sum(n.total_clicked), 0)::int AS clicked, coalesce(sum(n.total_unsubscribed), 0)::int AS unsubscribed,
              coalesce(sum(n.total_converted), 0)::int AS converted, coalesce(sum(n.total_revenue_attributed), 0) AS revenue
       FROM campaigns c LEFT JOIN campaign_send_counts n ON n.campaign_id = c.id
       WHERE c.id = ANY($1::uuid[]) GROUP BY c.id
     ), expected AS (
       SELECT n.id, NULL::text AS variant, ARRAY[n.sent, n.delivered, n.bounced, n.opened, n.clicked, n.unsubscribed,
              n.converted]::numeric[] || ARRAY[n.revenue,
              campaign_rate(n.delivered, n.sent), campaign_rate(n.opened, n.delivered),
              campaign_rate(n.clicked, n.delivered), campaign_rate(n.converted, n.sent),
              campaign_roi(n.revenue, c.budget)] AS v,
              ARRAY[c.total_sent, c.total_delivered, c.total_bounced, c.total_opened, c.total_clicked,
              c.total_unsubscribed, c.total_converted]::numeric[] || ARRAY[c.total_revenue_attributed,
              c.delivery_rate, c.open_rate, c.click_rate, c.conversion_rate, c.roi] AS stored
       FROM n JOIN campaigns c ON c.id = n.id
       UNION ALL
       SELECT coalesce(n.campaign_id, v.campaign_id), coalesce(n.variant, v.variant),
              ARRAY[coalesce(n.total_sent, 0), coalesce(n.total_delivered, 0), coalesce(n.total_bounced, 0),
              coalesce(n.total_opened, 0), coalesce(n.total_clicked, 0), coalesce(n.total_unsubscribed, 0),
              coalesce(n.total_converted, 0)]::numeric[] || ARRAY[coalesce(n.total_revenue_attributed, 0),
              campaign_rate(coalesce(n.total_delivered, 0), coalesce(n.total_sent, 0)),
              campaign_rate(coalesce(n.total_opened, 0), coalesce(n.total_delivered, 0)),
              campaign_rate(coalesce(n.total_clicked, 0), coalesce(n.total_delivered, 0)),
              campaign_rate(coalesce(n.total_converted, 0), coalesce(n.total_sent, 0)), 0],
              ARRAY[coalesce(v.total_sent, 0), coalesce(v.total_delivered, 0), coalesce(v.total_bounced, 0),
              coalesce(v.total_opened, 0), coalesce(v.total_clicked, 0), coalesce(v.total_unsubscribed, 0),
              coalesce(v.total_converted, 0)]::numeric[] || ARRAY[coalesce(v.total_revenue_attributed, 0),
              coalesce(v.delivery_rate, 0), coalesce(v.open_rate, 0), coalesce(v.click_rate, 0),
              coalesce(v.conversion_rate, 0), 0]
       FROM (SELECT * FROM campaign_send_counts WHERE campaign_id = ANY($1::uuid[])) n
       FULL JOIN (SELECT * FROM campaign_variant_performance WHERE campaign_id = ANY($1::uuid[])) v
         ON v.campaign_id = n.campaign_id AND v.variant IS NOT DISTINCT FROM n.variant
     )
     SELECT format('%s variant %s: stored %s, counted %s', id, coalesce(variant, '(none)'), stored, v) AS what
     FROM expected WHERE stored IS DISTINCT FROM v`,
    [campaignIds],
  );
  return rows.map((r) => r.what);
}
