import type { Queryable } from '../../../shared/src/pg/gateway.js';
import { mergeCampaignRows } from '../../../shared/src/campaigns/merge-sends.js';

/**
 * Everything that refers to customer `from` moves to `into`, table by table, before `from` is
 * deleted (so the ON DELETE CASCADE of customer_events and the memberships only ever finds rows
 * already moved). Where a table allows one row per customer and both have one, the two become
 * one row on `into`, as described per table. Each statement is one step so a failure names its
 * table in the query tag. The caller holds `from` FOR UPDATE: nothing can add rows for it now.
 * `into` is only held FOR NO KEY UPDATE, so another writer may still insert a row for it between
 * a combine and its move; the move then fails with 23505, which linkIds makes a retry of the batch.
 */
const STEPS: readonly (readonly [tag: string, sql: string])[] = [
  // Every id that resolved to `from` resolves to `into` now: chains end at the final survivor.
  ['move-identities', 'UPDATE customer_identities SET customer_id = $2 WHERE customer_id = $1'],
  ['move-events', 'UPDATE customer_events SET customer_id = $2 WHERE customer_id = $1'],
  // The update_customer_metrics trigger recomputes the order metrics of both customers.
  ['move-orders', 'UPDATE customer_orders SET customer_id = $2 WHERE customer_id = $1'],

  // UNIQUE (promotion_id, customer_id, order_id): the same redemption of the same order twice is
  // one redemption; the survivor's is kept.
  [
    'drop-duplicate-redemptions',
    `DELETE FROM promotion_redemptions f USING promotion_redemptions i
     WHERE f.customer_id = $1 AND i.customer_id = $2
       AND i.promotion_id = f.promotion_id AND i.order_id = f.order_id`,
  ],
  ['move-redemptions', 'UPDATE promotion_redemptions SET customer_id = $2 WHERE customer_id = $1'],

  // UNIQUE (segment_id, customer_id): member since the earlier of the two; active if either is
  // (the segment evaluation decides anew from the merged profile).
  [
    'combine-segment-memberships',
    `UPDATE segment_memberships i SET
       added_at = LEAST(i.added_at, f.added_at),
       first_qualified_at = LEAST(i.first_qualified_at, f.first_qualified_at),
       qualification_score = GREATEST(i.qualification_score, f.qualification_score),
       is_active = coalesce(i.is_active, false) OR coalesce(f.is_active, false),
       removed_at = CASE WHEN coalesce(i.is_active, false) OR coalesce(f.is_active, false) THEN NULL
                         ELSE GREATEST(i.removed_at, f.removed_at) END
     FROM segment_memberships f
     WHERE i.customer_id = $2 AND f.customer_id = $1 AND f.segment_id = i.segment_id`,
  ],
  [
    'drop-combined-segment-memberships',
    `DELETE FROM segment_memberships f USING segment_memberships i
     WHERE f.customer_id = $1 AND i.customer_id = $2 AND f.segment_id = i.segment_id`,
  ],
  ['move-segment-memberships', 'UPDATE segment_memberships SET customer_id = $2 WHERE customer_id = $1'],

  // UNIQUE (cohort_id, customer_id): the merged customer was first seen at the earlier of the two
  // first_seen_at, so it belongs to the earlier period; that row's assignment is kept.
  [
    'combine-cohort-memberships',
    `UPDATE cohort_memberships i SET
       cohort_period = f.cohort_period,
       period_start_date = f.period_start_date,
       period_end_date = f.period_end_date,
       joined_cohort_at = f.joined_cohort_at,
       customer_attributes_snapshot = f.customer_attributes_snapshot
     FROM cohort_memberships f
     WHERE i.customer_id = $2 AND f.customer_id = $1 AND f.cohort_id = i.cohort_id
       AND f.period_start_date < i.period_start_date`,
  ],
  [
    'drop-combined-cohort-memberships',
    `DELETE FROM cohort_memberships f USING cohort_memberships i
     WHERE f.customer_id = $1 AND i.customer_id = $2 AND f.cohort_id = i.cohort_id`,
  ],
  ['move-cohort-memberships', 'UPDATE cohort_memberships SET customer_id = $2 WHERE customer_id = $1'],

  // PRIMARY KEY (customer_id, group_id): member since the earlier group call.
  [
    'combine-group-memberships',
    `UPDATE customer_group_memberships i SET joined_at = LEAST(i.joined_at, f.joined_at)
     FROM customer_group_memberships f
     WHERE i.customer_id = $2 AND f.customer_id = $1 AND f.group_id = i.group_id`,
  ],
  [
    'drop-combined-group-memberships',
    `DELETE FROM customer_group_memberships f USING customer_group_memberships i
     WHERE f.customer_id = $1 AND i.customer_id = $2 AND f.group_id = i.group_id`,
  ],
  ['move-group-memberships', 'UPDATE customer_group_memberships SET customer_id = $2 WHERE customer_id = $1'],
];

export interface MovedRows {
  events: number;
  orders: number;
  campaignSends: number;
}

export async function moveCustomerRows(tx: Queryable, from: string, into: string): Promise<MovedRows> {
  const counts = new Map<string, number>();
  for (const [tag, sql] of STEPS) {
    const r = await tx.query(`identities.merge.${tag}`, sql, [from, into]);
    counts.set(tag, r.rowCount ?? 0);
  }
  // Sends, their events, conversions and suppressions, and the campaign counters (invariant 4).
  counts.set('campaign-sends', await mergeCampaignRows(tx, from, into));
  return {
    events: counts.get('move-events') ?? 0,
    orders: counts.get('move-orders') ?? 0,
    campaignSends: counts.get('campaign-sends') ?? 0,
  };
}
