/**
 * promotion_redemptions for the orders a batch wrote, and the counters of their promotions.
 *
 * One row per order and promotion. An order's code that changes (a newer update) moves its
 * redemption: the old promotion's row is deleted, the new one recorded. A row's validity is
 * decided when it is recorded, and again only when what it records changes (amounts, customer,
 * time, code), so deactivating a promotion later does not rewrite past redemptions. The
 * promotions are locked (FOR UPDATE, in id order) for the whole of it, so two partitions
 * redeeming one promotion count its limits one after the other, and the counters are recounted
 * from the valid rows in the same transaction: they always equal a recount.
 */
import type { Tx } from '../../../shared/src/pg/gateway.js';
import { centsText } from '../mapping/money.js';
import {
  clampedAmounts,
  fitsColumns,
  redemptionAmounts,
  validationErrors,
  type OrderAmounts,
  type Promotion,
  type RedemptionAmounts,
  type ValidationError,
} from '../promotions/rules.js';

export interface RedemptionOrder {
  orderUuid: string;
  orderId: string;
  customerId: string;
  /** The order's promotion_code; null: cleared by the order. */
  code: string | null;
  /** The code is new for this order in this batch (the order was created, or its code changed). */
  codeIsNew: boolean;
  orderedAt: number;
  amounts: OrderAmounts;
  channel: string | null;
}

export interface RedemptionCounts {
  valid: number;
  invalid: number;
  unknownCodes: number;
}

type ExistingRow = {
  id: string;
  promotion_id: string;
  order_id: string;
  customer_id: string;
  redemption_code: string;
  discount_cents: number;
  original_cents: number;
  final_cents: number;
  redemption_channel: string | null;
  redeemed_ms: number | null;
};

interface Candidate {
  order: RedemptionOrder;
  promotion: Promotion;
  amounts: RedemptionAmounts;
  existingId: string | null;
}

export async function recordRedemptions(
  tx: Tx,
  orders: readonly RedemptionOrder[],
  firstOrder: (orderUuid: string) => boolean,
): Promise<RedemptionCounts> {
  const counts: RedemptionCounts = { valid: 0, invalid: 0, unknownCodes: 0 };
  if (orders.length === 0) return counts;

  const existing = await existingRows(
    tx,
    orders.map((o) => o.orderUuid),
  );
  const codes = [...new Set(orders.map((o) => o.code).filter((c): c is string => c !== null))];
  const promotions = await lockPromotions(tx, codes, [...new Set(existing.map((r) => r.promotion_id))]);
  const byCode = new Map([...promotions.values()].map((p) => [p.code, p]));

  const stale: ExistingRow[] = [];
  const candidates: Candidate[] = [];
  for (const order of orders) {
    const promotion = order.code === null ? undefined : byCode.get(order.code);
    if (order.code !== null && !promotion && order.codeIsNew) counts.unknownCodes++;
    const rows = existing.filter((r) => r.order_id === order.orderUuid);
    const keep = promotion ? rows.find((r) => r.promotion_id === promotion.id) : undefined;
    stale.push(...rows.filter((r) => r !== keep));
    if (!promotion) continue;
    const amounts = redemptionAmounts(promotion, order.amounts);
    if (keep && unchanged(keep, order, amounts)) continue;
    candidates.push({ order, promotion, amounts, existingId: keep?.id ?? null });
  }

  if (stale.length > 0) {
    await tx.query(
      'orders.redemptions-delete',
      'DELETE FROM promotion_redemptions WHERE id = ANY($1::uuid[])',
      [stale.map((r) => r.id)],
    );
  }
  if (candidates.length > 0) {
    const evaluated = await evaluate(tx, candidates, firstOrder);
    await writeRows(tx, evaluated);
    for (const e of evaluated) {
      if (e.errors.length === 0) counts.valid++;
      else counts.invalid++;
    }
  }
  const touched = new Set([...stale.map((r) => r.promotion_id), ...candidates.map((c) => c.promotion.id)]);
  if (touched.size > 0) await recount(tx, [...touched].sort());
  return counts;
}

const unchanged = (r: ExistingRow, o: RedemptionOrder, a: RedemptionAmounts): boolean =>
  r.customer_id === o.customerId &&
  r.redemption_code === o.code &&
  r.discount_cents === a.discountCents &&
  r.original_cents === a.originalCents &&
  r.final_cents === a.finalCents &&
  r.redemption_channel === o.channel &&
  r.redeemed_ms === o.orderedAt;

async function existingRows(tx: Tx, orderUuids: readonly string[]): Promise<ExistingRow[]> {
  const { rows } = await tx.query<ExistingRow>(
    'orders.redemptions-existing',
    `SELECT id, promotion_id, order_id, customer_id, redemption_code,
            round(discount_amount * 100)::bigint AS discount_cents,
            round(original_order_value * 100)::bigint AS original_cents,
            round(final_order_value * 100)::bigint AS final_cents,
            redemption_channel,
            floor(extract(epoch FROM redeemed_at) * 1000)::bigint AS redeemed_ms
     FROM promotion_redemptions WHERE order_id = ANY($1::uuid[]) ORDER BY id`,
    [orderUuids],
  );
  return rows;
}

async function lockPromotions(
  tx: Tx,
  codes: readonly string[],
  ids: readonly string[],
): Promise<Map<string, Promotion>> {
  if (codes.length === 0 && ids.length === 0) return new Map();
  const { rows } = await tx.query<{
    id: string;
    promotion_code: string | null;
    discount_type: string;
    discount_value: string | null;
    max_discount_cents: number | null;
    min_order_cents: number | null;
    usage_limit_total: number | null;
    usage_limit_per_customer: number | null;
    valid_from: Date;
    valid_until: Date;
    first_time_customers_only: boolean | null;
    is_active: boolean | null;
  }>(
    'orders.promotions-lock',
    `SELECT id, promotion_code, discount_type, discount_value,
            round(max_discount_amount * 100)::bigint AS max_discount_cents,
            round(min_order_value * 100)::bigint AS min_order_cents,
            usage_limit_total, usage_limit_per_customer, valid_from, valid_until,
            first_time_customers_only, is_active
     FROM promotions WHERE promotion_code = ANY($1::text[]) OR id = ANY($2::uuid[])
     ORDER BY id FOR UPDATE`,
    [codes, ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        code: r.promotion_code ?? '',
        discountType: r.discount_type,
        discountValue: r.discount_value === null ? null : Number(r.discount_value),
        maxDiscountCents: r.max_discount_cents,
        minOrderCents: r.min_order_cents,
        usageLimitTotal: r.usage_limit_total,
        usageLimitPerCustomer: r.usage_limit_per_customer,
        validFrom: r.valid_from.getTime(),
        validUntil: r.valid_until.getTime(),
        // The seed's defaults for rows that have NULL.
        firstTimeCustomersOnly: r.first_time_customers_only === true,
        isActive: r.is_active !== false,
      },
    ]),
  );
}

interface Evaluated extends Candidate {
  errors: ValidationError[];
}

/**
 * Each candidate against its promotion and the valid redemptions of other orders, in order of
 * ordered_at (then order_id), counting the ones found valid as it goes: within a batch, the
 * earlier order gets the last use of a limited promotion.
 */
async function evaluate(
  tx: Tx,
  candidates: readonly Candidate[],
  firstOrder: (orderUuid: string) => boolean,
): Promise<Evaluated[]> {
  const { rows } = await tx.query<{ promotion_id: string; customer_id: string; n: number }>(
    'orders.redemptions-used',
    `SELECT promotion_id, customer_id, count(*)::int AS n FROM promotion_redemptions
     WHERE promotion_id = ANY($1::uuid[]) AND was_valid
       AND (order_id IS NULL OR order_id <> ALL($2::uuid[]))
     GROUP BY promotion_id, customer_id`,
    [[...new Set(candidates.map((c) => c.promotion.id))], candidates.map((c) => c.order.orderUuid)],
  );
  const total = new Map<string, number>();
  const byCustomer = new Map<string, number>();
  const key = (promotionId: string, customerId: string) => `${promotionId}/${customerId}`;
  for (const r of rows) {
    total.set(r.promotion_id, (total.get(r.promotion_id) ?? 0) + r.n);
    byCustomer.set(key(r.promotion_id, r.customer_id), r.n);
  }
  const sorted = [...candidates].sort(
    (a, b) => a.order.orderedAt - b.order.orderedAt || (a.order.orderId < b.order.orderId ? -1 : 1),
  );
  return sorted.map((c) => {
    const k = key(c.promotion.id, c.order.customerId);
    const errors = validationErrors(c.promotion, {
      orderedAt: c.order.orderedAt,
      amounts: c.amounts,
      isFirstOrder: firstOrder(c.order.orderUuid),
      usedTotal: total.get(c.promotion.id) ?? 0,
      usedByCustomer: byCustomer.get(k) ?? 0,
    });
    if (errors.length === 0) {
      total.set(c.promotion.id, (total.get(c.promotion.id) ?? 0) + 1);
      byCustomer.set(k, (byCustomer.get(k) ?? 0) + 1);
    }
    return { ...c, errors };
  });
}

async function writeRows(tx: Tx, evaluated: readonly Evaluated[]): Promise<void> {
  const rowOf = (e: Evaluated) => {
    const a = fitsColumns(e.amounts) ? e.amounts : clampedAmounts(e.amounts);
    return {
      id: e.existingId,
      promotion_id: e.promotion.id,
      customer_id: e.order.customerId,
      order_id: e.order.orderUuid,
      redemption_code: e.order.code,
      discount_amount: centsText(a.discountCents),
      original_order_value: centsText(a.originalCents),
      final_order_value: centsText(a.finalCents),
      redemption_channel: e.order.channel,
      redeemed_at: new Date(e.order.orderedAt).toISOString(),
      was_valid: e.errors.length === 0,
      validation_errors: e.errors,
    };
  };
  const updates = evaluated.filter((e) => e.existingId !== null).map(rowOf);
  const inserts = evaluated.filter((e) => e.existingId === null).map(rowOf);
  if (updates.length > 0) {
    await tx.query(
      'orders.redemptions-update',
      `UPDATE promotion_redemptions r
       SET customer_id = u.customer_id, redemption_code = u.redemption_code,
           discount_amount = u.discount_amount, original_order_value = u.original_order_value,
           final_order_value = u.final_order_value, redemption_channel = u.redemption_channel,
           redeemed_at = u.redeemed_at, was_valid = u.was_valid, validation_errors = u.validation_errors
       FROM jsonb_populate_recordset(NULL::promotion_redemptions, $1::jsonb) u
       WHERE r.id = u.id`,
      [JSON.stringify(updates)],
    );
  }
  if (inserts.length > 0) {
    await tx.query(
      'orders.redemptions-insert',
      `INSERT INTO promotion_redemptions (promotion_id, customer_id, order_id, redemption_code,
         discount_amount, original_order_value, final_order_value, redemption_channel, redeemed_at,
         was_valid, validation_errors)
       SELECT promotion_id, customer_id, order_id, redemption_code, discount_amount,
         original_order_value, final_order_value, redemption_channel, redeemed_at, was_valid,
         validation_errors
       FROM jsonb_populate_recordset(NULL::promotion_redemptions, $1::jsonb)`,
      [JSON.stringify(inserts)],
    );
  }
}

/** The promotions' counters from their valid redemptions, written only where they differ. */
async function recount(tx: Tx, promotionIds: readonly string[]): Promise<void> {
  await tx.query(
    'orders.promotions-recount',
    `UPDATE promotions p
     SET current_usage_count = c.n, total_redemptions = c.n,
         total_discount_given = c.discount, total_revenue_attributed = c.revenue
     FROM (
       SELECT x.id, count(r.id)::int AS n,
              coalesce(sum(r.discount_amount), 0) AS discount,
              coalesce(sum(r.final_order_value), 0) AS revenue
       FROM unnest($1::uuid[]) AS x(id)
       LEFT JOIN promotion_redemptions r ON r.promotion_id = x.id AND r.was_valid
       GROUP BY x.id
     ) c
     WHERE p.id = c.id
       AND (p.current_usage_count, p.total_redemptions, p.total_discount_given, p.total_revenue_attributed)
           IS DISTINCT FROM (c.n, c.n, c.discount, c.revenue)`,
    [promotionIds],
  );
}
