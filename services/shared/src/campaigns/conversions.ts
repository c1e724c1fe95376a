/**
 * Conversions: which send each order converts (attribution.ts decides), kept in
 * campaign_conversions, one row per order, so an order converts once however often it is updated;
 * and the conversion columns of the sends those rows point at (converted_at, conversion_value,
 * conversion_event), counted from those rows and the provider's own `converted` events.
 *
 * The orders processor calls recordConversions() in the transaction that writes the orders; the
 * campaigns processor and merges call reattribute() for the orders their clicks, sends and moves
 * may change (a late click converting an order that came first, a merged profile's clicks).
 */
import type { Queryable } from '../pg/gateway.js';
import {
  decideAttribution,
  sameDecision,
  type AttributionKind,
  type ClickFact,
  type Decision,
  type OrderFacts,
  type SendFact,
} from './attribution.js';
import { lockCustomersForAttribution } from './customer-locks.js';
import { distinctKeys, keyArrays, type SendKey } from './send-key.js';
import { SendLedger } from './send-ledger.js';

/** Attribution decisions that changed, by what was decided. */
export type AttributionCounts = Record<AttributionKind, number>;

export const noDecisions = (): AttributionCounts => ({ campaign_id: 0, last_click: 0, pending: 0, none: 0 });

/** Which orders to decide again. */
export interface AttributionScope {
  /** customer_orders.id of orders to decide (the orders processor's written orders). */
  orderUuids?: readonly string[];
  /**
   * Orders of these customers that a change may affect: every one (`all`, a merge), or those
   * ordered at or after `since` (the earliest new click; null: none) and those naming one of
   * `campaignIds` (sends that changed).
   */
  customers?: { ids: readonly string[]; all?: boolean; since: number | null; campaignIds: readonly string[] };
}

export interface Reattributed {
  decisions: AttributionCounts;
  /** Sends whose conversions may have changed: their conversion columns must be recomputed. */
  sends: SendKey[];
}

type CandidateRow = {
  order_id: string;
  customer_id: string;
  order_status: string;
  total_cents: number;
  campaign_id: string | null;
  ordered_ms: number;
  c_attribution: AttributionKind | null;
  c_customer: string | null;
  c_campaign: string | null;
  c_variant: string | null;
  c_clicked_ms: number | null;
  c_counted: boolean | null;
  c_value_cents: number | null;
  c_status: string | null;
  c_total_cents: number | null;
  c_ordered_ms: number | null;
};

/**
 * The orders processor's one call: the conversions of the orders it just wrote (customer_orders.id),
 * and the counters of the sends they convert, in its transaction.
 */
export async function recordConversions(
  tx: Queryable,
  orderUuids: readonly string[],
): Promise<AttributionCounts> {
  if (orderUuids.length === 0) return noDecisions();
  const ledger = new SendLedger();
  const { decisions, sends } = await reattribute(tx, { orderUuids }, ledger);
  await ledger.capture(tx, sends);
  await recomputeSendConversions(tx, sends);
  await ledger.settle(tx);
  return decisions;
}

/**
 * Decides again the orders in `scope` and writes the decisions that changed. Takes the customers'
 * attribution locks (customer-locks.ts) before reading: the caller must have written its own rows
 * (orders, clicks, moves) before calling. Captures in `ledger` the sends it changes conversions of.
 */
export async function reattribute(
  tx: Queryable,
  scope: AttributionScope,
  ledger: SendLedger,
): Promise<Reattributed> {
  const decisions = noDecisions();
  const orderUuids = scope.orderUuids ?? [];
  const c = scope.customers ?? { ids: [], since: null, campaignIds: [] };
  if (orderUuids.length === 0 && c.ids.length === 0) return { decisions, sends: [] };

  const customersOfOrders = orderUuids.length
    ? (
        await tx.query<{ customer_id: string }>(
          'campaigns.order-customers',
          'SELECT DISTINCT customer_id FROM customer_orders WHERE id = ANY($1::uuid[])',
          [orderUuids],
        )
      ).rows.map((r) => r.customer_id)
    : [];
  await lockCustomersForAttribution(tx, [...customersOfOrders, ...c.ids]);

  const { rows: candidates } = await tx.query<CandidateRow>(
    'campaigns.attribution-candidates',
    `SELECT o.order_id, o.customer_id, o.order_status, round(o.order_total * 100)::bigint AS total_cents,
            o.campaign_id, floor(extract(epoch FROM o.ordered_at) * 1000)::bigint AS ordered_ms,
            cc.attribution AS c_attribution, cc.customer_id AS c_customer, cc.campaign_id AS c_campaign,
            cc.variant AS c_variant, floor(extract(epoch FROM cc.clicked_at) * 1000)::bigint AS c_clicked_ms,
            cc.counted AS c_counted, round(cc.value * 100)::bigint AS c_value_cents,
            cc.order_status AS c_status, round(cc.order_total * 100)::bigint AS c_total_cents,
            floor(extract(epoch FROM cc.ordered_at) * 1000)::bigint AS c_ordered_ms
     FROM customer_orders o LEFT JOIN campaign_conversions cc ON cc.order_id = o.order_id
     WHERE o.id = ANY($1::uuid[])
        OR (o.customer_id = ANY($2::uuid[])
            AND ($5 OR o.ordered_at >= $3 OR o.campaign_id = ANY($4::uuid[])))
     ORDER BY o.order_id`,
    [orderUuids, c.ids, c.since === null ? null : new Date(c.since), c.campaignIds, c.all === true],
  );
  if (candidates.length === 0) return { decisions, sends: [] };

  const facts = candidates.map(orderFactsOf);
  const context = await contextFor(tx, facts);
  const changed: { row: CandidateRow; fact: OrderFacts; decision: Decision }[] = [];
  const sends: SendKey[] = [];
  for (const [i, row] of candidates.entries()) {
    const fact = facts[i]!;
    const decision = decideAttribution(fact, context);
    const stored = storedDecision(row);
    const sameOrder =
      row.c_status === row.order_status &&
      row.c_total_cents === row.total_cents &&
      row.c_ordered_ms === row.ordered_ms;
    if (stored && sameDecision(stored, decision) && sameOrder && row.c_customer === row.customer_id) continue;
    changed.push({ row, fact, decision });
    if (!stored || !sameDecision(stored, decision)) decisions[decision.attribution]++;
    // The send it converted (counted or not: a refund changes the value it counts) and the one it converts now.
    if (row.c_campaign !== null && row.c_customer !== null)
      sends.push({ campaignId: row.c_campaign, customerId: row.c_customer, variant: row.c_variant });
    if (decision.campaignId !== null && decision.attribution !== 'pending')
      sends.push({ campaignId: decision.campaignId, customerId: fact.customerId, variant: decision.variant });
  }
  if (changed.length === 0) return { decisions, sends: [] };
  const keys = distinctKeys(sends);
  await ledger.capture(tx, keys);
  await writeDecisions(tx, changed);
  return { decisions, sends: keys };
}

const orderFactsOf = (r: CandidateRow): OrderFacts => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  status: r.order_status,
  totalCents: r.total_cents,
  campaignId: r.campaign_id,
  orderedAt: r.ordered_ms,
});

function storedDecision(r: CandidateRow): Decision | undefined {
  if (r.c_attribution === null) return undefined;
  return {
    attribution: r.c_attribution,
    campaignId: r.c_campaign,
    variant: r.c_variant,
    clickedAt: r.c_clicked_ms,
    counted: r.c_counted === true,
    valueCents: r.c_value_cents ?? 0,
  };
}

/** The campaigns, sends and clicks the decisions depend on, read once for all candidates. */
async function contextFor(tx: Queryable, facts: readonly OrderFacts[]) {
  const customers = [...new Set(facts.map((f) => f.customerId))];
  const named = [...new Set(facts.map((f) => f.campaignId).filter((id): id is string => id !== null))];
  const { rows: w } = await tx.query<{ ms: number }>(
    'campaigns.attribution-window',
    'SELECT (extract(epoch FROM campaign_attribution_window()) * 1000)::bigint AS ms',
  );
  const windowMs = Number(w[0]!.ms);

  const existing = new Set<string>();
  const sends = new Map<string, SendFact[]>();
  if (named.length > 0) {
    const { rows } = await tx.query<{ id: string }>(
      'campaigns.attribution-campaigns',
      'SELECT id FROM campaigns WHERE id = ANY($1::uuid[])',
      [named],
    );
    for (const r of rows) existing.add(r.id);
    const { rows: s } = await tx.query<{
      campaign_id: string;
      customer_id: string;
      variant: string | null;
      send_status: string;
    }>(
      'campaigns.attribution-sends',
      `SELECT campaign_id, customer_id, variant, coalesce(send_status, 'queued') AS send_status FROM campaign_sends
       WHERE customer_id = ANY($1::uuid[]) AND campaign_id = ANY($2::uuid[])`,
      [customers, named],
    );
    for (const r of s)
      push(sends, r.customer_id, { campaignId: r.campaign_id, variant: r.variant, status: r.send_status });
  }

  const clicks = new Map<string, ClickFact[]>();
  const unnamed = facts.filter((f) => f.campaignId === null);
  if (unnamed.length > 0) {
    const from = Math.min(...unnamed.map((f) => f.orderedAt)) - windowMs;
    const to = Math.max(...unnamed.map((f) => f.orderedAt));
    const { rows } = await tx.query<{
      customer_id: string;
      campaign_id: string;
      variant: string | null;
      at: number;
      message_id: string;
    }>(
      'campaigns.attribution-clicks',
      `SELECT customer_id, campaign_id, variant, floor(extract(epoch FROM occurred_at) * 1000)::bigint AS at,
              source_key || '/' || message_id AS message_id
       FROM campaign_send_events
       WHERE customer_id = ANY($1::uuid[]) AND event = 'clicked' AND occurred_at BETWEEN $2 AND $3`,
      [[...new Set(unnamed.map((f) => f.customerId))], new Date(from), new Date(to)],
    );
    for (const r of rows)
      push(clicks, r.customer_id, {
        campaignId: r.campaign_id,
        variant: r.variant,
        at: Number(r.at),
        messageId: r.message_id,
      });
  }
  return {
    windowMs,
    campaignExists: (id: string) => existing.has(id),
    sendsOf: (customerId: string) => sends.get(customerId) ?? [],
    clicksOf: (customerId: string) => clicks.get(customerId) ?? [],
  };
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

async function writeDecisions(
  tx: Queryable,
  changed: readonly { row: CandidateRow; fact: OrderFacts; decision: Decision }[],
): Promise<void> {
  const rows = changed.map(({ fact, decision }) => ({
    order_id: fact.orderId,
    customer_id: fact.customerId,
    ordered_at: new Date(fact.orderedAt).toISOString(),
    order_status: fact.status,
    order_total: (fact.totalCents / 100).toFixed(2),
    attribution: decision.attribution,
    campaign_id: decision.campaignId,
    variant: decision.variant,
    clicked_at: decision.clickedAt === null ? null : new Date(decision.clickedAt).toISOString(),
    counted: decision.counted,
    value: (decision.valueCents / 100).toFixed(2),
  }));
  await tx.query(
    'campaigns.conversions-write',
    `INSERT INTO campaign_conversions (order_id, customer_id, ordered_at, order_status, order_total, attribution,
       campaign_id, variant, clicked_at, counted, value)
     SELECT order_id, customer_id, ordered_at, order_status, order_total, attribution, campaign_id, variant,
            clicked_at, counted, value
     FROM jsonb_populate_recordset(NULL::campaign_conversions, $1::jsonb) ORDER BY order_id
     ON CONFLICT (order_id) DO UPDATE SET
       customer_id = EXCLUDED.customer_id, ordered_at = EXCLUDED.ordered_at, order_status = EXCLUDED.order_status,
       order_total = EXCLUDED.order_total, attribution = EXCLUDED.attribution, campaign_id = EXCLUDED.campaign_id,
       variant = EXCLUDED.variant, clicked_at = EXCLUDED.clicked_at, counted = EXCLUDED.counted,
       value = EXCLUDED.value, decided_at = now()`,
    [JSON.stringify(rows)],
  );
}

/**
 * converted_at, conversion_value and conversion_event of these sends, from the orders counted on
 * them and the provider's `converted` events: converted at the earliest of either, for the sum of
 * both (a provider should not also report the conversions it sends as orders with a campaign_id,
 * or they count twice). The caller has captured the sends in its ledger.
 */
export async function recomputeSendConversions(tx: Queryable, keys: readonly SendKey[]): Promise<void> {
  const distinct = distinctKeys(keys);
  if (distinct.length === 0) return;
  const [campaigns, customers, variants] = keyArrays(distinct);
  await tx.query(
    'campaigns.sends-conversions',
    `WITH k AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(campaign_id, customer_id, variant)
     ), o AS (
       SELECT k.campaign_id, k.customer_id, k.variant, min(c.ordered_at) AS at, sum(c.value) AS value
       FROM k JOIN campaign_conversions c ON c.campaign_id = k.campaign_id AND c.customer_id = k.customer_id
         AND c.variant IS NOT DISTINCT FROM k.variant AND c.counted
       GROUP BY 1, 2, 3
     ), p AS (
       SELECT k.campaign_id, k.customer_id, k.variant, min(e.occurred_at) AS at, sum(coalesce(e.value, 0)) AS value
       FROM k JOIN campaign_send_events e ON e.campaign_id = k.campaign_id AND e.customer_id = k.customer_id
         AND e.variant IS NOT DISTINCT FROM k.variant AND e.event = 'converted'
       GROUP BY 1, 2, 3
     ), n AS (
       SELECT k.campaign_id, k.customer_id, k.variant, least(o.at, p.at) AS converted_at,
              CASE WHEN o.at IS NULL AND p.at IS NULL THEN NULL
                   ELSE coalesce(o.value, 0) + coalesce(p.value, 0) END AS conversion_value,
              CASE WHEN o.at IS NOT NULL THEN 'purchase' WHEN p.at IS NOT NULL THEN 'converted' END AS conversion_event
       FROM k
       LEFT JOIN o ON o.campaign_id = k.campaign_id AND o.customer_id = k.customer_id AND o.variant IS NOT DISTINCT FROM k.variant
       LEFT JOIN p ON p.campaign_id = k.campaign_id AND p.customer_id = k.customer_id AND p.variant IS NOT DISTINCT FROM k.variant
     )
     UPDATE campaign_sends s
     SET converted_at = n.converted_at, conversion_value = n.conversion_value, conversion_event = n.conversion_event
     FROM n
     WHERE s.campaign_id = n.campaign_id AND s.customer_id = n.customer_id AND s.variant IS NOT DISTINCT FROM n.variant
       AND (s.converted_at, s.conversion_value, s.conversion_event)
           IS DISTINCT FROM (n.converted_at, n.conversion_value, n.conversion_event)`,
    [campaigns, customers, variants],
  );
}
