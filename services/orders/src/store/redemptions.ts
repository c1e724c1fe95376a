/**
 * promotion_redemptions for the orders a batch wrote, and the counters of their promotions.
 *
 * One row per order and promotion. An order's code that changes (a newer update) moves its
 * redemption: the old promotion's row is deleted, the new one recorded. A row's validity is
 * decided when it is recorded, and again when what it records changes (amounts, customer, time,
 * code) or, for a first-time-customers-only promotion, when the order's is_first_order changes
 * (another order of the customer arrived or moved), so deactivating a promotion later does not
 * rewrite past redemptions. The promotions are locked (FOR UPDATE, in id order) for the whole of
 * it, so two partitions redeeming one promotion count its limits one after the other, and the
 * counters are recounted from the valid rows in the same transaction: they always equal a recount.
 */
import type { Tx } from '../../../shared/src/pg/gateway.js';
import { codePointLength } from '../../../shared/src/text/code-points.js';
import { PROMOTION_CODE_MAX } from '../mapping/fields.js';
import { centsText } from '../../../shared/src/records/money.js';
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
  /** The order's promotion_code, whole (not cut to customer_orders' 50); null: cleared by the order. */
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
  /** customer_orders.order_id of the row's order. */
  order_key: string;
  customer_id: string;
  redemption_code: string;
  discount_cents: number;
  original_cents: number;
  final_cents: number;
  redemption_channel: string | null;
  redeemed_ms: number | null;
  ordered_ms: number;
  was_valid: boolean | null;
  validation_errors: ValidationError[] | null;
};

/** What a row records about its order. */
type Redeeming = Omit<RedemptionOrder, 'amounts' | 'codeIsNew'>;

interface Candidate {
  order: Redeeming;
  promotion: Promotion;
  amounts: RedemptionAmounts;
  existingId: string | null;
  /** Judged again as it was recorded: its amounts were clamped, so they still do not fit. */
  clamped?: boolean;
  /** Judged again only because of the order's first-order flag: written only if that changes it. */
  before?: { valid: boolean; errors: ValidationError[] };
}

/**
 * `orders`: the orders the batch wrote that have a promotion_code (set or cleared).
 * `flagChanged`: the orders whose is_first_order the batch changed, written by it or not; their
 * redemptions of first-time-customers-only promotions are judged again.
 */
export async function recordRedemptions(
  tx: Tx,
  orders: readonly RedemptionOrder[],
  flagChanged: ReadonlySet<string>,
  firstOrder: (orderUuid: string) => boolean,
): Promise<RedemptionCounts> {
  const counts: RedemptionCounts = { valid: 0, invalid: 0, unknownCodes: 0 };
  const inBatch = new Set(orders.map((o) => o.orderUuid));
  const others = [...flagChanged].filter((id) => !inBatch.has(id));
  if (orders.length === 0 && others.length === 0) return counts;

  const existing = await existingRows(tx, [...inBatch], others);
  // A code longer than promotions.promotion_code's VARCHAR(100) names no promotion.
  const codes = [
    ...new Set(
      orders
        .map((o) => o.code)
        .filter((c): c is string => c !== null && codePointLength(c) <= PROMOTION_CODE_MAX),
    ),
  ];
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
    const flagMatters = promotion.firstTimeCustomersOnly && flagChanged.has(order.orderUuid);
    if (keep && !flagMatters && unchanged(keep, order, amounts)) continue;
    candidates.push({ order, promotion, amounts, existingId: keep?.id ?? null });
  }
  // The other orders whose flag changed: nothing they record changed but is_first_order, so their
  // rows are judged again as recorded (an earlier order arriving later takes "first" from them).
  for (const r of existing) {
    const promotion = promotions.get(r.promotion_id);
    if (inBatch.has(r.order_id) || !promotion?.firstTimeCustomersOnly) continue;
    const before = { valid: r.was_valid !== false, errors: r.validation_errors ?? [] };
    candidates.push({
      order: {
        orderUuid: r.order_id,
        orderId: r.order_key,
        customerId: r.customer_id,
        code: r.redemption_code,
        orderedAt: r.redeemed_ms ?? r.ordered_ms,
        channel: r.redemption_channel,
      },
      promotion,
      amounts: {
        discountCents: r.discount_cents,
        originalCents: r.original_cents,
        finalCents: r.final_cents,
      },
      existingId: r.id,
      clamped: before.errors.includes('amount-out-of-range'),
      before,
    });
  }

  if (stale.length > 0) {
    await tx.query(
      'orders.redemptions-delete',
      'DELETE FROM promotion_redemptions WHERE id = ANY($1::uuid[])',
      [stale.map((r) => r.id)],
    );
  }
  const written: Evaluated[] = [];
  if (candidates.length > 0) {
    const evaluated = await evaluate(tx, candidates, firstOrder);
    written.push(...evaluated.filter((e) => !e.before || !sameOutcome(e.errors, e.before)));
    await writeRows(tx, written);
    for (const e of written) {
      if (e.errors.length === 0) counts.valid++;
      else counts.invalid++;
    }
  }
  const touched = new Set([...stale.map((r) => r.promotion_id), ...written.map((c) => c.promotion.id)]);
  if (touched.size > 0) await recount(tx, [...touched].sort());
  return counts;
}

const sameOutcome = (errors: readonly ValidationError[], before: NonNullable<Candidate['before']>) =>
  (errors.length === 0) === before.valid && errors.join() === before.errors.join();

const unchanged = (r: ExistingRow, o: Redeeming, a: RedemptionAmounts): boolean =>
  r.customer_id === o.customerId &&
  r.redemption_code === o.code &&
  r.discount_cents === a.discountCents &&
  r.original_cents === a.originalCents &&
  r.final_cents === a.finalCents &&
  r.redemption_channel === o.channel &&
  r.redeemed_ms === o.orderedAt;

/**
 * The rows of the batch's orders, and the rows of `flagChanged` orders that redeem a
 * first-time-customers-only promotion (read again once the promotion is locked).
 */
async function existingRows(
  tx: Tx,
  orderUuids: readonly string[],
  flagChanged: readonly string[],
): Promise<ExistingRow[]> {
  const { rows } = await tx.query<ExistingRow>(
    'orders.redemptions-existing',
    `SELECT r.id, r.promotion_id, r.order_id, o.order_id AS order_key, r.customer_id, r.redemption_code,
            round(r.discount_amount * 100)::bigint AS discount_cents,
            round(r.original_order_value * 100)::bigint AS original_cents,
            round(r.final_order_value * 100)::bigint AS final_cents,
            r.redemption_channel,
            floor(extract(epoch FROM r.redeemed_at) * 1000)::bigint AS redeemed_ms,
            floor(extract(epoch FROM o.ordered_at) * 1000)::bigint AS ordered_ms,
            r.was_valid, r.validation_errors
     FROM promotion_redemptions r JOIN customer_orders o ON o.id = r.order_id
     WHERE r.order_id = ANY($1::uuid[])
        OR (r.order_id = ANY($2::uuid[])
            AND r.promotion_id IN (SELECT id FROM promotions WHERE first_time_customers_only))
     ORDER BY r.id`,
    [orderUuids, flagChanged],
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
    if (c.clamped && !errors.includes('amount-out-of-range')) errors.push('amount-out-of-range');
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
