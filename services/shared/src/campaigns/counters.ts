/**
 * The campaign counters, kept by adding differences inside the writer's transaction: per variant
 * (campaign_variant_performance) and per campaign (campaigns.total_* and the stored rates, which
 * are recomputed from the new totals in the same statement). Campaign rows are locked in id order
 * first, so two partitions updating one campaign wait for each other instead of deadlocking.
 */
import type { Queryable } from '../pg/gateway.js';
import { COUNT_NAMES, isZero, type Counts } from './contribution.js';

export interface CounterDelta {
  campaignId: string;
  variant: string | null;
  counts: Counts;
}

/** Counts' names as the columns call them. */
const COLUMN: Readonly<Record<(typeof COUNT_NAMES)[number], string>> = {
  sent: 'total_sent',
  delivered: 'total_delivered',
  bounced: 'total_bounced',
  opened: 'total_opened',
  clicked: 'total_clicked',
  unsubscribed: 'total_unsubscribed',
  converted: 'total_converted',
  revenueCents: 'total_revenue_attributed',
};

const DELTA_COLUMNS = `campaign_id uuid, variant text, sent int, delivered int, bounced int, opened int,
  clicked int, unsubscribed int, converted int, revenue numeric`;

type CountName = (typeof COUNT_NAMES)[number];
/** Where a statement finds the delta of a counter: a column of `d`, or of EXCLUDED in an upsert. */
type DeltaOf = (name: CountName) => string;
const fromDeltaRow: DeltaOf = (n) => `d.${n === 'revenueCents' ? 'revenue' : n}`;
const fromExcluded: DeltaOf = (n) => `EXCLUDED.${COLUMN[n]}`;

/** The counter on table alias `t` after adding its delta. */
const updated = (t: string, delta: DeltaOf, n: CountName) => `(coalesce(${t}.${COLUMN[n]}, 0) + ${delta(n)})`;

const totalsSql = (t: string, delta: DeltaOf) =>
  COUNT_NAMES.map((n) => `${COLUMN[n]} = ${updated(t, delta, n)}`).join(',\n       ');

function ratesSql(t: string, delta: DeltaOf): string {
  const u = (n: CountName) => updated(t, delta, n);
  return `delivery_rate = campaign_rate(${u('delivered')}, ${u('sent')}),
       open_rate = campaign_rate(${u('opened')}, ${u('delivered')}),
       click_rate = campaign_rate(${u('clicked')}, ${u('delivered')}),
       conversion_rate = campaign_rate(${u('converted')}, ${u('sent')})`;
}

const VARIANT_SQL = `INSERT INTO campaign_variant_performance AS v (campaign_id, variant,
       ${COUNT_NAMES.map((n) => COLUMN[n]).join(', ')}, delivery_rate, open_rate, click_rate, conversion_rate)
     SELECT d.campaign_id, d.variant, d.sent, d.delivered, d.bounced, d.opened, d.clicked, d.unsubscribed,
            d.converted, d.revenue, campaign_rate(d.delivered, d.sent), campaign_rate(d.opened, d.delivered),
            campaign_rate(d.clicked, d.delivered), campaign_rate(d.converted, d.sent)
     FROM jsonb_to_recordset($1::jsonb) AS d(${DELTA_COLUMNS})
     ON CONFLICT (campaign_id, variant) DO UPDATE SET
       ${totalsSql('v', fromExcluded)},
       ${ratesSql('v', fromExcluded)},
       updated_at = now()`;

const CAMPAIGN_SQL = `UPDATE campaigns c SET
       ${totalsSql('c', fromDeltaRow)},
       ${ratesSql('c', fromDeltaRow)},
       roi = campaign_roi(${updated('c', fromDeltaRow, 'revenueCents')}, c.budget)
     FROM (
       SELECT campaign_id, sum(sent)::int AS sent, sum(delivered)::int AS delivered, sum(bounced)::int AS bounced,
              sum(opened)::int AS opened, sum(clicked)::int AS clicked, sum(unsubscribed)::int AS unsubscribed,
              sum(converted)::int AS converted, sum(revenue) AS revenue
       FROM jsonb_to_recordset($1::jsonb) AS x(${DELTA_COLUMNS})
       GROUP BY campaign_id
     ) d
     WHERE c.id = d.campaign_id`;

const compareDelta = (a: CounterDelta, b: CounterDelta): number =>
  a.campaignId !== b.campaignId
    ? a.campaignId < b.campaignId
      ? -1
      : 1
    : (a.variant ?? '') < (b.variant ?? '')
      ? -1
      : (a.variant ?? '') > (b.variant ?? '')
        ? 1
        : 0;

export async function applyCounterDeltas(tx: Queryable, deltas: readonly CounterDelta[]): Promise<void> {
  const changed = deltas.filter((d) => !isZero(d.counts)).sort(compareDelta);
  if (changed.length === 0) return;
  const json = JSON.stringify(
    changed.map((d) => ({
      campaign_id: d.campaignId,
      variant: d.variant,
      ...d.counts,
      revenue: (d.counts.revenueCents / 100).toFixed(2),
    })),
  );
  await tx.query(
    'campaigns.lock-campaigns',
    'SELECT 1 FROM campaigns WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE',
    [[...new Set(changed.map((d) => d.campaignId))]],
  );
  await tx.query('campaigns.variant-counters', VARIANT_SQL, [json]);
  await tx.query('campaigns.counters', CAMPAIGN_SQL, [json]);
}

/**
 * The counters of these campaigns counted again from campaign_sends (recount_campaigns(), the
 * repair the README describes): for sends changed outside the pipeline.
 */
export async function recountCampaigns(tx: Queryable, campaignIds: readonly string[]): Promise<void> {
  if (campaignIds.length === 0) return;
  await tx.query('campaigns.recount', 'SELECT recount_campaigns($1::uuid[])', [
    [...new Set(campaignIds)].sort(),
  ]);
}
