/** Rows in the other tables a merge moves, inserted the way their writers would. */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../shared/src/pg/gateway.js';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import { randomName } from '../../shared/test/support.js';

/** The customer of an external id, as the event sink resolves it (created when new). */
export async function sinkCustomer(
  db: Queryable,
  externalId: string,
  type: 'user_id' | 'anonymous_id',
  seenAt = new Date(),
) {
  const m = await resolveCustomers(db, [{ externalId, identityType: type, seenAt }]);
  return m.get(externalId)!;
}

/** A minimal customer_events row, as the sink would COPY it. */
export async function insertEvent(
  db: Queryable,
  customerId: string,
  occurredAt = new Date(),
  type = 'page_view',
) {
  await db.query(
    'identities-test.event',
    `INSERT INTO customer_events (customer_id, event_type, event_name, occurred_at, message_id)
     VALUES ($1, $2, $3, $4, $5)`,
    [customerId, type, type === 'page_view' ? 'Page Viewed' : type, occurredAt, randomUUID()],
  );
}

export async function insertOrder(
  db: Queryable,
  customerId: string,
  opts: { total: number; status?: string; orderedAt: Date },
): Promise<{ id: string; orderId: string }> {
  const orderId = randomName('order');
  const { rows } = await db.query<{ id: string }>(
    'identities-test.order',
    `INSERT INTO customer_orders (order_id, customer_id, order_status, order_total, subtotal, ordered_at)
     VALUES ($1, $2, $3, $4, $4, $5) RETURNING id`,
    [orderId, customerId, opts.status ?? 'delivered', opts.total, opts.orderedAt],
  );
  return { id: rows[0]!.id, orderId };
}

/** A platform user, a campaign, a segment, a cohort and a promotion, for the memberships. */
export async function marketing(db: Db) {
  const user = await db.query<{ id: string }>(
    'identities-test.platform-user',
    `INSERT INTO platform_users (email, password_hash, name, role) VALUES ($1, 'x', 'Test', 'viewer') RETURNING id`,
    [`${randomName('u')}@test.invalid`],
  );
  const createdBy = user.rows[0]!.id;
  const one = async (sql: string, values: unknown[]) =>
    (await db.query<{ id: string }>('identities-test.marketing', sql, values)).rows[0]!.id;
  return {
    campaignId: await one(
      `INSERT INTO campaigns (name, campaign_type, channel, message_content, created_by)
       VALUES ($1, 'email', 'email', '{}', $2) RETURNING id`,
      [randomName('campaign'), createdBy],
    ),
    segmentId: await one(
      `INSERT INTO segments (name, segment_type, criteria, created_by) VALUES ($1, 'static', '{}', $2) RETURNING id`,
      [randomName('segment'), createdBy],
    ),
    cohortId: await one(
      `INSERT INTO cohorts (name, inclusion_criteria, created_by) VALUES ($1, '{}', $2) RETURNING id`,
      [randomName('cohort'), createdBy],
    ),
    promotionId: await one(
      `INSERT INTO promotions (name, promotion_code, discount_type, valid_from, valid_until, created_by)
       VALUES ($1, $1, 'percentage', now() - interval '1 day', now() + interval '1 day', $2) RETURNING id`,
      [randomName('promo'), createdBy],
    ),
  };
}

export async function insertSend(
  db: Queryable,
  campaignId: string,
  customerId: string,
  opts: { sentAt: Date; clicks: number; status?: string; openedAt?: Date | null },
) {
  await db.query(
    'identities-test.send',
    `INSERT INTO campaign_sends (campaign_id, customer_id, send_status, sent_at, opened_at, total_clicks)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [campaignId, customerId, opts.status ?? 'sent', opts.sentAt, opts.openedAt ?? null, opts.clicks],
  );
}

export async function insertMemberships(
  db: Queryable,
  m: { segmentId: string; cohortId: string },
  customerId: string,
  periodStart: string,
) {
  await db.query(
    'identities-test.segment-member',
    'INSERT INTO segment_memberships (segment_id, customer_id) VALUES ($1, $2)',
    [m.segmentId, customerId],
  );
  await db.query(
    'identities-test.cohort-member',
    `INSERT INTO cohort_memberships (cohort_id, customer_id, cohort_period, period_start_date, period_end_date)
     VALUES ($1, $2, to_char($3::date, 'YYYY-MM'), $3::date, ($3::date + interval '1 month' - interval '1 day')::date)`,
    [m.cohortId, customerId, periodStart],
  );
}

export async function insertRedemption(
  db: Queryable,
  promotionId: string,
  customerId: string,
  orderId: string | null,
) {
  await db.query(
    'identities-test.redemption',
    `INSERT INTO promotion_redemptions (promotion_id, customer_id, order_id, redemption_code, discount_amount,
       original_order_value, final_order_value) VALUES ($1, $2, $3, 'CODE', 5, 50, 45)`,
    [promotionId, customerId, orderId],
  );
}

/** Rows referring to a customer, by table. */
export async function rowsOf(db: Queryable, customerId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(
    'identities-test.rows-of',
    `SELECT (SELECT count(*) FROM customer_events WHERE customer_id = $1)::int AS events,
            (SELECT count(*) FROM customer_orders WHERE customer_id = $1)::int AS orders,
            (SELECT count(*) FROM campaign_sends WHERE customer_id = $1)::int AS sends,
            -- the fixtures' static segments only: a dynamic segment of the database's (a developer's,
            -- kept by a running segments processor) may hold the customer too
            (SELECT count(*) FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
             WHERE m.customer_id = $1 AND s.segment_type = 'static')::int AS segments,
            (SELECT count(*) FROM cohort_memberships WHERE customer_id = $1)::int AS cohorts,
            (SELECT count(*) FROM promotion_redemptions WHERE customer_id = $1)::int AS redemptions,
            (SELECT count(*) FROM customer_identities WHERE customer_id = $1)::int AS identities`,
    [customerId],
  );
  return rows[0]!;
}
