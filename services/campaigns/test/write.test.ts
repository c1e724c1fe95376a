/**
 * The write on the real database: sends through their life in any order, duplicates, variants,
 * conversions (named campaign, last click, late click, refunds), suppressions and targeting, a
 * profile merge, and the seed's view and sample query against the stored counters.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mergeCampaignRows } from '../../shared/src/campaigns/merge-sends.js';
import { repoPath } from '../../shared/src/repo-path.js';
import {
  at,
  campaignEvent,
  countersOf,
  db,
  invariantViolations,
  makeCampaign,
  newProcessor,
  orderRecord,
  randomName,
  sendOf,
  write,
  writeOrders,
} from './support.js';

t.teardown(() => db.end());
const { definition } = newProcessor();

t.test('a send through its life, its events late, out of order and repeated', async (t) => {
  const campaign = await makeCampaign({ budget: 100 });
  const user = randomName('user');
  const ev = (event: Parameters<typeof campaignEvent>[0]['event'], minute: number, o = {}) =>
    campaignEvent({ campaign_id: campaign, userId: user, event, timestamp: at(minute), ...o });
  const opened = ev('opened', 10);
  const click1 = ev('clicked', 12, { url: 'https://x.test/a' });
  const click2 = ev('clicked', 15);
  // The open and a click first, then the delivery and the send; the same click twice in one batch
  // and again in a later one.
  const first = await write(definition, [opened, click1, click1]);
  t.same(first.events, { 'opened/applied': 1, 'clicked/applied': 1, 'clicked/duplicate': 1 });
  let send = await sendOf(campaign, user);
  t.match(send, { send_status: 'delivered', total_clicks: 1 }, 'an open before its delivery implies it');
  const second = await write(definition, [ev('delivered', 2), ev('sent', 1), click1, click2, opened]);
  t.same(second.outOfOrder, { delivered: 1, sent: 1 });
  send = await sendOf(campaign, user);
  t.match(send, { send_status: 'delivered', total_clicks: 2, delivery_attempt: 1 });
  t.equal((send!.sent_at as Date).getTime(), at(1));
  t.equal((send!.delivered_at as Date).getTime(), at(2));
  t.equal((send!.opened_at as Date).getTime(), at(10));
  t.equal((send!.first_click_at as Date).getTime(), at(12));
  t.equal((send!.last_click_at as Date).getTime(), at(15));
  // A bounce reported after the delivery does not move the status back.
  await write(definition, [ev('bounced', 20, { reason: 'late dsn' })]);
  send = await sendOf(campaign, user);
  t.match(send, { send_status: 'delivered', bounce_reason: 'late dsn' });
  t.match(await countersOf(campaign), {
    total_sent: 1,
    total_delivered: 1,
    total_bounced: 0,
    total_opened: 1,
    total_clicked: 1,
    delivery_rate: '1.0000',
    open_rate: '1.0000',
    click_rate: '1.0000',
    roi: '-1.0000',
  });
  t.same(await invariantViolations(db, [campaign]), []);
});

t.test('bounces, failures and unsubscribes; A/B variants counted apart and together', async (t) => {
  const campaign = await makeCampaign({ ab: true });
  const users = Array.from({ length: 6 }, () => randomName('user'));
  const ev = (i: number, event: Parameters<typeof campaignEvent>[0]['event'], minute: number, o = {}) =>
    campaignEvent({
      campaign_id: campaign,
      userId: users[i]!,
      variant: i % 2 ? 'B' : 'A',
      event,
      timestamp: at(minute),
      ...o,
    });
  await write(definition, [
    ...users.map((_, i) => ev(i, 'sent', 0)),
    ev(0, 'delivered', 1),
    ev(1, 'delivered', 1),
    ev(2, 'bounced', 1, { reason: 'no such user' }),
    ev(3, 'failed', 1, { reason: 'throttled' }),
    ev(0, 'opened', 2),
    ev(1, 'clicked', 3),
    ev(1, 'unsubscribed', 4),
    ev(5, 'complained', 5),
  ]);
  t.match(await sendOf(campaign, users[2]!, 'A'), { send_status: 'bounced', bounce_reason: 'no such user' });
  t.match(await sendOf(campaign, users[3]!, 'B'), {
    send_status: 'sent',
    failure_reason: 'throttled',
    delivery_attempt: 2,
  });
  const { rows } = await db.query<Record<string, unknown>>(
    'test.variants',
    `SELECT variant, total_sent, total_delivered, total_bounced, total_opened, total_clicked, total_unsubscribed,
            delivery_rate, open_rate FROM campaign_variant_performance WHERE campaign_id = $1 ORDER BY variant`,
    [campaign],
  );
  t.same(rows, [
    {
      variant: 'A',
      total_sent: 3,
      total_delivered: 1,
      total_bounced: 1,
      total_opened: 1,
      total_clicked: 0,
      total_unsubscribed: 0,
      delivery_rate: '0.3333',
      open_rate: '1.0000',
    },
    {
      variant: 'B',
      total_sent: 3,
      total_delivered: 2,
      total_bounced: 0,
      total_opened: 1,
      total_clicked: 1,
      total_unsubscribed: 1,
      delivery_rate: '0.6667',
      open_rate: '0.5000',
    },
  ]);
  t.match(await countersOf(campaign), {
    total_sent: 6,
    total_delivered: 3,
    total_bounced: 1,
    total_unsubscribed: 1,
    delivery_rate: '0.5000',
  });
  t.same(await invariantViolations(db, [campaign]), []);
  const { rows: marked } = await db.query<{ customer_id: string; unsub: boolean; complaint: boolean }>(
    'test.suppressions',
    `SELECT i.external_id AS customer_id, s.unsubscribed_at IS NOT NULL AS unsub, s.complained_at IS NOT NULL AS complaint
     FROM campaign_suppressions s JOIN customer_identities i ON i.customer_id = s.customer_id
     WHERE s.channel = 'email' AND i.external_id = ANY($1) ORDER BY 1`,
    [users],
  );
  t.same(
    marked,
    [
      { customer_id: users[1], unsub: true, complaint: false },
      { customer_id: users[5], unsub: false, complaint: true },
    ].sort((a, b) => (a.customer_id! < b.customer_id! ? -1 : 1)),
  );
});

t.test('conversions: once per order, refunds take the value out, last click, late click', async (t) => {
  const named = await makeCampaign({ budget: 50 });
  const clicked = await makeCampaign();
  const user = randomName('user');
  const prefix = randomName('o');
  await write(definition, [
    campaignEvent({ campaign_id: named, userId: user, event: 'sent', timestamp: at(0) }),
    campaignEvent({ campaign_id: clicked, userId: user, event: 'clicked', timestamp: at(10) }),
  ]);
  // The same order three times (created, confirmed, shipped): one conversion.
  const order = (id: string, o: Partial<Parameters<typeof orderRecord>[0]> = {}) =>
    orderRecord({
      order_id: `${prefix}-${id}`,
      userId: user,
      order_total: 40,
      ordered_at: at(20),
      timestamp: at(20),
      ...o,
    });
  await writeOrders([order('1', { campaign_id: named })]);
  await writeOrders([order('1', { order_status: 'confirmed', timestamp: at(21) })]);
  await writeOrders([order('1', { order_status: 'shipped', timestamp: at(22) })]);
  t.match(await sendOf(named, user), { conversion_value: '40.00', conversion_event: 'purchase' });
  t.match(await countersOf(named), {
    total_converted: 1,
    total_revenue_attributed: '40.00',
    conversion_rate: '1.0000',
    roi: '-0.2000',
  });

  // Without a campaign_id: the latest click within the window; a second order adds to the value.
  await writeOrders([
    order('2', { order_total: 10 }),
    order('3', { order_total: 5, ordered_at: at(30), timestamp: at(30) }),
  ]);
  t.match(await sendOf(clicked, user), { conversion_value: '15.00' });
  t.match(await countersOf(clicked), { total_converted: 1, total_revenue_attributed: '15.00' });

  // A refund takes its value back out; cancelling the other withdraws the conversion.
  await writeOrders([order('2', { order_status: 'refunded', timestamp: at(40) })]);
  t.match(await countersOf(clicked), { total_converted: 1, total_revenue_attributed: '5.00' });
  await writeOrders([order('3', { order_status: 'cancelled', timestamp: at(41) })]);
  t.match(await countersOf(clicked), { total_converted: 0, total_revenue_attributed: '0.00' });
  t.equal((await sendOf(clicked, user))!.converted_at, null);

  // An order past the window converts nothing.
  await writeOrders([order('4', { ordered_at: at(10 + 8 * 24 * 60), timestamp: at(10 + 8 * 24 * 60) })]);
  const { rows } = await db.query<{ attribution: string }>(
    'test.decision',
    'SELECT attribution FROM campaign_conversions WHERE order_id = $1',
    [`${prefix}-4`],
  );
  t.same(rows, [{ attribution: 'none' }]);
  t.same(await invariantViolations(db, [named, clicked]), []);
});

t.test(
  'a late click converts the order that came before it; a pending named campaign waits for its send',
  async (t) => {
    const late = await makeCampaign();
    const named = await makeCampaign();
    const user = randomName('user');
    const prefix = randomName('o');
    await writeOrders([
      orderRecord({
        order_id: `${prefix}-a`,
        userId: user,
        order_total: 25,
        ordered_at: at(60),
        timestamp: at(60),
      }),
      orderRecord({
        order_id: `${prefix}-b`,
        userId: user,
        order_total: 7,
        ordered_at: at(60),
        timestamp: at(60),
        campaign_id: named,
      }),
    ]);
    const { rows: before } = await db.query<{ order_id: string; attribution: string }>(
      'test.decisions',
      'SELECT order_id, attribution FROM campaign_conversions WHERE order_id LIKE $1 ORDER BY 1',
      [`${prefix}-%`],
    );
    t.same(
      before.map((r) => r.attribution),
      ['none', 'pending'],
    );
    const counts = await write(definition, [
      campaignEvent({
        campaign_id: late,
        userId: user,
        event: 'clicked',
        timestamp: at(50),
        receivedAt: at(200),
      }),
      campaignEvent({ campaign_id: named, userId: user, event: 'delivered', timestamp: at(1) }),
    ]);
    t.match(counts.attribution, { last_click: 1, campaign_id: 1 });
    t.match(counts.late, { clicked: 1 });
    t.match(await sendOf(late, user), { conversion_value: '25.00' });
    t.match(await sendOf(named, user), { conversion_value: '7.00' });
    t.same(await invariantViolations(db, [late, named]), []);
  },
);

t.test(
  'total_targeted: the target segments less exclusions and suppressed customers, on activation',
  async (t) => {
    const campaign = await makeCampaign({ status: 'draft' });
    const { rows: u } = await db.query<{ id: string }>(
      'test.user',
      'SELECT created_by AS id FROM campaigns WHERE id = $1',
      [campaign],
    );
    const seg = async () =>
      (
        await db.query<{ id: string }>(
          'test.segment',
          `INSERT INTO segments (name, segment_type, criteria, created_by) VALUES ($1, 'static', '{}', $2) RETURNING id`,
          [randomName('segment'), u[0]!.id],
        )
      ).rows[0]!.id;
    const [target, exclude] = [await seg(), await seg()];
    const { rows: customers } = await db.query<{ id: string }>(
      'test.customers',
      `INSERT INTO customers (customer_id, first_seen_at) SELECT $1 || g, now() FROM generate_series(1, 5) g RETURNING id`,
      [randomName('c')],
    );
    const ids = customers.map((c) => c.id);
    await db.query(
      'test.members',
      'INSERT INTO segment_memberships (segment_id, customer_id) SELECT $1, unnest($2::uuid[])',
      [target, ids],
    );
    await db.query(
      'test.excluded',
      'INSERT INTO segment_memberships (segment_id, customer_id) VALUES ($1, $2)',
      [exclude, ids[0]],
    );
    await db.query(
      'test.suppressed',
      `INSERT INTO campaign_suppressions (customer_id, channel, unsubscribed_at) VALUES ($1, 'email', now())`,
      [ids[1]],
    );
    await db.query(
      'test.segments',
      'UPDATE campaigns SET target_segments = $2, exclusion_segments = $3 WHERE id = $1',
      [campaign, [target], [exclude]],
    );
    t.equal((await countersOf(campaign)).total_targeted, 0, 'not counted before it is active');
    await db.query('test.activate', "UPDATE campaigns SET status = 'active' WHERE id = $1", [campaign]);
    t.equal((await countersOf(campaign)).total_targeted, 3);
  },
);

t.test('a profile merge combines the two sends and keeps the counters', async (t) => {
  const campaign = await makeCampaign();
  const [known, anon] = [randomName('user'), randomName('anon')];
  await write(definition, [
    campaignEvent({ campaign_id: campaign, userId: known, event: 'sent', timestamp: at(0) }),
    campaignEvent({ campaign_id: campaign, anonymousId: anon, event: 'sent', timestamp: at(0) }),
    campaignEvent({ campaign_id: campaign, anonymousId: anon, event: 'clicked', timestamp: at(5) }),
    campaignEvent({ campaign_id: campaign, userId: known, event: 'bounced', timestamp: at(1) }),
  ]);
  const prefix = randomName('o');
  await writeOrders([
    orderRecord({
      order_id: `${prefix}-1`,
      userId: known,
      order_total: 9,
      ordered_at: at(30),
      timestamp: at(30),
    }),
  ]);
  t.match(await countersOf(campaign), {
    total_sent: 2,
    total_bounced: 1,
    total_clicked: 1,
    total_converted: 0,
  });
  const ids = await db.query<{ external_id: string; customer_id: string }>(
    'test.ids',
    'SELECT external_id, customer_id FROM customer_identities WHERE external_id = ANY($1)',
    [[known, anon]],
  );
  const idOf = (x: string) => ids.rows.find((r) => r.external_id === x)!.customer_id;
  await db.transaction('test.merge', (tx) => mergeCampaignRows(tx, idOf(anon), idOf(known)));
  const send = await sendOf(campaign, known);
  t.match(
    send,
    { send_status: 'delivered', total_clicks: 1, conversion_value: '9.00' },
    "the anonymous click converts the known customer's order",
  );
  t.match(await countersOf(campaign), {
    total_sent: 1,
    total_delivered: 1,
    total_bounced: 0,
    total_clicked: 1,
    total_converted: 1,
  });
  t.same(await invariantViolations(db, [campaign]), []);
});

t.test("the seed's view and its Top Performing Campaigns query agree with the stored counters", async (t) => {
  const campaign = await makeCampaign({ budget: 20, start: new Date() });
  const users = Array.from({ length: 7 }, () => randomName('user'));
  await write(definition, [
    ...users.map((u) => campaignEvent({ campaign_id: campaign, userId: u, event: 'sent', timestamp: at(0) })),
    ...users
      .slice(0, 6)
      .map((u) => campaignEvent({ campaign_id: campaign, userId: u, event: 'delivered', timestamp: at(1) })),
    ...users
      .slice(0, 4)
      .map((u) => campaignEvent({ campaign_id: campaign, userId: u, event: 'opened', timestamp: at(2) })),
    ...users
      .slice(0, 3)
      .map((u) => campaignEvent({ campaign_id: campaign, userId: u, event: 'clicked', timestamp: at(3) })),
    campaignEvent({
      campaign_id: campaign,
      userId: users[0]!,
      event: 'converted',
      value: 30,
      timestamp: at(4),
    }),
  ]);
  const c = await countersOf(campaign);
  t.match(c, {
    total_sent: 7,
    total_delivered: 6,
    total_opened: 4,
    total_clicked: 3,
    total_converted: 1,
    total_revenue_attributed: '30.00',
  });
  t.match(c, {
    delivery_rate: '0.8571',
    open_rate: '0.6667',
    click_rate: '0.5000',
    conversion_rate: '0.1429',
    roi: '0.5000',
  });
  const { rows: view } = await db.query<Record<string, string>>(
    'test.view',
    `SELECT total_sent, total_delivered, total_opened, total_clicked, total_converted,
            round(delivery_rate / 100, 4)::text AS delivery, round(open_rate / 100, 4)::text AS open,
            round(click_rate / 100, 4)::text AS click, round(conversion_rate / 100, 4)::text AS conversion,
            round(roi_percentage / 100, 4)::text AS roi
     FROM campaign_performance_summary WHERE id = $1`,
    [campaign],
  );
  t.same(
    view[0],
    {
      total_sent: c.total_sent,
      total_delivered: c.total_delivered,
      total_opened: c.total_opened,
      total_clicked: c.total_clicked,
      total_converted: c.total_converted,
      delivery: c.delivery_rate,
      open: c.open_rate,
      click: c.click_rate,
      conversion: c.conversion_rate,
      roi: c.roi,
    },
    'the view reports the stored counters, its rates as percentages of the stored fractions',
  );

  const sql = readFileSync(repoPath('sql', 'sample-queries.sql'), 'utf8');
  const start = sql.indexOf('-- name: top-performing-campaigns');
  const query = sql.slice(start, sql.indexOf(';', start) + 1).replace('LIMIT 10', 'LIMIT 100000');
  const { rows: top } = await db.query<Record<string, string | number>>('test.top', query);
  const mine = top.find(
    (r) => r.total_sent === 7 && r.total_revenue_attributed === '30.00' && r.name !== undefined,
  );
  t.ok(mine, 'the campaign is among the top performing');
  t.match(mine, {
    total_sent: 7,
    total_opened: 4,
    total_clicked: 3,
    total_converted: 1,
    total_revenue_attributed: '30.00',
    // The seed's query divides by total_sent, the stored open and click rates by total_delivered.
    open_rate: '57.14',
    click_rate: '42.86',
    conversion_rate: '14.29',
  });
  t.same(await invariantViolations(db, [campaign]), []);
});
