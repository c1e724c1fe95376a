/**
 * `make demo`: a realistic simulated stream through the public HTTP API — customers browsing in
 * sessions, signing up, adding to cart, ordering, and campaign sends/opens/clicks — then what
 * landed in PostgreSQL. Uses the development write key from `make up`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { commonConfig, field, loadConfig } from '../../shared/src/config.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { repoPath } from '../../shared/src/repo-path.js';
import { sleep } from '../../shared/src/retry.js';
import { runCli } from './cli.js';

const config = loadConfig(
  {
    ...commonConfig,
    collectorUrl: field.url('COLLECTOR_URL', ['http:', 'https:'], 'http://127.0.0.1:8080'),
    customers: field.int('DEMO_CUSTOMERS', 200, { min: 1, max: 100_000 }),
    devKeyFile: field.string('DEV_WRITE_KEY_FILE', repoPath('.stack', 'dev-write-key')),
  },
  process.env,
);

const PAGES = ['/', '/shoes', '/shoes/runner-2', '/bags', '/bags/tote', '/cart', '/checkout'];
const PRODUCTS = [
  { product_id: 'runner-2', product_name: 'Runner 2', product_category: 'shoes', unit_price: 89.9 },
  { product_id: 'tote', product_name: 'Canvas tote', product_category: 'bags', unit_price: 24.5 },
  { product_id: 'socks-3', product_name: 'Socks (3 pairs)', product_category: 'accessories', unit_price: 12 },
];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
];
const SOURCES = [
  { source: 'google', medium: 'cpc', name: 'black-friday' },
  { source: 'newsletter', medium: 'email', name: 'november' },
  null,
];
const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

type Json = Record<string, unknown>;

await runCli('demo', async (say) => {
  const key = readFileSync(config.devKeyFile, 'utf8').trim();
  const auth = `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  const post = async (path: string, body: unknown) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await fetch(`${config.collectorUrl}${path}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.ok) return;
      if (res.status !== 503 && res.status !== 429)
        throw new Error(`${path}: ${res.status} ${await res.text()}`);
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
    }
    throw new Error(`${path}: still unavailable after 5 tries`);
  };

  const runId = randomUUID().slice(0, 8);
  const campaignId = randomUUID();
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'demo',
    registry: createRegistry('demo'),
  });
  // Provider events name a campaign that exists (an unknown campaign_id is a dead letter).
  // A campaign has an owner (campaigns.created_by); the demo's is one platform user, kept across runs.
  await db.query(
    'demo.campaign',
    `WITH owner AS (
       INSERT INTO platform_users (email, password_hash, name, role)
       VALUES ('demo@cdp.invalid', '!', 'make demo', 'marketing_manager')
       ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name
       RETURNING id
     )
     INSERT INTO campaigns (id, name, campaign_type, channel, message_content, status, budget, created_by)
     SELECT $1, $2, 'email', 'email', '{"subject": "New runners are in"}', 'active', 500, id FROM owner`,
    [campaignId, `demo-${runId} spring email`],
  );
  // A segment, before any of its customers exists: the segments processor keeps it as they arrive.
  const { rows: segment } = await db.query<{ id: string }>(
    'demo.segment',
    `INSERT INTO segments (name, criteria, created_by)
     SELECT $1, $2, id FROM platform_users WHERE email = 'demo@cdp.invalid' RETURNING id`,
    [
      `demo-${runId} customers who ordered`,
      JSON.stringify({
        logic: 'AND',
        conditions: [
          { field: 'customer_id', operator: 'starts_with', value: `demo-${runId}-` },
          { field: 'lifetime_value', operator: '>', value: 0 },
        ],
      }),
    ],
  );
  const segmentId = segment[0]!.id;
  const start = Date.now() - 6 * 3600_000;
  let events = 0;
  let orders = 0;
  let campaignEvents = 0;
  const messageIds: string[] = [];

  for (let c = 0; c < config.customers; c++) {
    const anonymousId = `demo-${runId}-anon-${c}`;
    const userId = c % 3 === 0 ? null : `demo-${runId}-user-${c}`;
    const campaign = pick(SOURCES, c);
    const context: Json = {
      userAgent: pick(AGENTS, c),
      ip: `198.51.100.${c % 250}`,
      locale: 'en-US',
      library: { name: 'analytics.js', version: '5' },
    };
    if (campaign) context.campaign = campaign;
    const batch: Json[] = [];
    const at = (minutes: number) => new Date(start + c * 60_000 + minutes * 60_000).toISOString();
    const id = () => {
      const m = randomUUID();
      messageIds.push(m);
      return m;
    };
    const sessionId = `s-${runId}-${c}`;
    for (let p = 0; p < 3 + (c % 4); p++) {
      const path = pick(PAGES, c + p);
      // Browsing is anonymous; the identify below merges it into the user's profile.
      batch.push({
        type: 'page',
        messageId: id(),
        anonymousId,
        name: path,
        timestamp: at(p),
        context: { ...context, sessionId, page: { path, url: `https://shop.example${path}`, title: path } },
      });
    }
    const product = pick(PRODUCTS, c);
    batch.push({
      type: 'track',
      messageId: id(),
      anonymousId,
      event: 'Product Viewed',
      properties: { ...product, price: product.unit_price },
      timestamp: at(8),
      context: { ...context, sessionId },
    });
    if (userId) {
      batch.push({
        type: 'identify',
        messageId: randomUUID(),
        anonymousId,
        userId,
        traits: { email: `${userId}@example.com`, name: `Demo ${c}` },
        timestamp: at(9),
        context,
      });
      batch.push({
        type: 'track',
        messageId: id(),
        userId,
        event: 'Signed Up',
        properties: { plan: c % 2 ? 'free' : 'pro' },
        timestamp: at(9),
        context: { ...context, sessionId },
      });
    }
    if (c % 2 === 0) {
      batch.push({
        type: 'track',
        messageId: id(),
        anonymousId,
        userId,
        event: 'Product Added',
        properties: { ...product, quantity: 1 },
        timestamp: at(10),
        context: { ...context, sessionId },
      });
    }
    await post('/v1/batch', { batch });
    events += batch.filter((b) => b.type !== 'identify').length;

    const customer = userId ? { userId } : { anonymousId };
    if (c % 2 === 0) {
      const orderId = `demo-${runId}-order-${c}`;
      const quantity = 1 + (c % 3);
      await post('/v1/orders', {
        ...customer,
        order_id: orderId,
        order_total: +(product.unit_price * quantity + 4.9).toFixed(2),
        subtotal: +(product.unit_price * quantity).toFixed(2),
        shipping_amount: 4.9,
        currency: 'USD',
        ordered_at: at(12),
        campaign_id: campaign?.medium === 'email' ? campaignId : undefined,
        items: [{ ...product, quantity, total_price: +(product.unit_price * quantity).toFixed(2) }],
      });
      if (c % 4 === 0)
        await post('/v1/orders', {
          ...customer,
          order_id: orderId,
          order_status: 'delivered',
          delivered_at: at(60),
        });
      orders++;
    }
    const sendEvents = [
      'sent',
      'delivered',
      ...(c % 2 ? ['opened'] : []),
      ...(c % 4 === 1 ? ['clicked'] : []),
    ];
    await post('/v1/campaign-events', {
      events: sendEvents.map((event, i) => ({
        campaign_id: campaignId,
        ...customer,
        event,
        timestamp: at(-60 + i * 5),
        url: event === 'clicked' ? 'https://shop.example/shoes' : undefined,
      })),
    });
    campaignEvents += sendEvents.length;
    if ((c + 1) % 50 === 0) say(`sent ${c + 1}/${config.customers} customers`);
  }
  say(
    `sent ${events} tracking events, ${orders} orders, ${campaignEvents} campaign events for ${config.customers} customers`,
  );

  try {
    const deadline = Date.now() + 60_000;
    let landed = 0;
    while (Date.now() < deadline) {
      const { rows } = await db.query<{ n: number }>(
        'demo.count',
        'SELECT count(*)::int AS n FROM customer_events WHERE message_id = ANY($1)',
        [messageIds],
      );
      landed = rows[0]!.n;
      if (landed >= messageIds.length) break;
      await sleep(500);
    }
    say(`${landed}/${messageIds.length} tracking events are in customer_events`);
    const byType = await db.query<{ event_type: string; n: number; customers: number }>(
      'demo.by-type',
      `SELECT event_type, count(*)::int AS n, count(DISTINCT customer_id)::int AS customers
       FROM customer_events WHERE message_id = ANY($1) GROUP BY 1 ORDER BY 2 DESC`,
      [messageIds],
    );
    console.table(byType.rows);
    const devices = await db.query<{ device_type: string; browser: string; n: number }>(
      'demo.devices',
      `SELECT device_type, browser, count(*)::int AS n FROM customer_events WHERE message_id = ANY($1) GROUP BY 1, 2 ORDER BY 3 DESC`,
      [messageIds],
    );
    console.table(devices.rows);
    const utm = await db.query<{ utm_source: string | null; utm_medium: string | null; n: number }>(
      'demo.utm',
      `SELECT utm_source, utm_medium, count(*)::int AS n FROM customer_events WHERE message_id = ANY($1) GROUP BY 1, 2 ORDER BY 3 DESC`,
      [messageIds],
    );
    console.table(utm.rows);
    const customers = await db.query<{ n: number }>(
      'demo.customers',
      `SELECT count(DISTINCT customer_id)::int AS n FROM customer_events WHERE message_id = ANY($1)`,
      [messageIds],
    );
    say(`${customers.rows[0]!.n} customers have events`);

    const like = `demo-${runId}-%`;
    const ordersLanded = async () =>
      (
        await db.query<{ n: number }>(
          'demo.orders-count',
          'SELECT count(*)::int AS n FROM customer_orders WHERE order_id LIKE $1',
          [like],
        )
      ).rows[0]!.n;
    while (Date.now() < deadline && (await ordersLanded()) < orders) await sleep(500);
    const profiles = await db.query<{
      customers: number;
      with_email: number;
      anonymous_ids_on_known: number;
    }>(
      'demo.profiles',
      `SELECT (SELECT count(*)::int FROM customers WHERE customer_id LIKE $1) AS customers,
              (SELECT count(*)::int FROM customers WHERE customer_id LIKE $1 AND email IS NOT NULL) AS with_email,
              (SELECT count(*)::int FROM customer_identities i JOIN customers c ON c.id = i.customer_id
                WHERE i.external_id LIKE $2 AND c.customer_id LIKE $3) AS anonymous_ids_on_known`,
      [like, `demo-${runId}-anon-%`, `demo-${runId}-user-%`],
    );
    say(
      'profiles (identify traits filled; anonymous ids that now resolve to the known customer, by a merge or by adopting the anonymous profile):',
    );
    console.table(profiles.rows);
    const byStatus = await db.query<{
      order_status: string;
      orders: number;
      total: string;
      first_orders: number;
    }>(
      'demo.orders',
      `SELECT order_status, count(*)::int AS orders, sum(order_total)::text AS total,
              count(*) FILTER (WHERE is_first_order)::int AS first_orders
       FROM customer_orders WHERE order_id LIKE $1 GROUP BY 1 ORDER BY 1`,
      [like],
    );
    say(`${await ordersLanded()}/${orders} orders are in customer_orders:`);
    console.table(byStatus.rows);
    const metrics = await db.query(
      'demo.metrics',
      `SELECT lifecycle_stage, count(*)::int AS customers, round(avg(engagement_score))::int AS avg_engagement,
              round(avg(churn_risk_score))::int AS avg_churn_risk, sum(total_page_views)::int AS page_views,
              sum(total_sessions)::int AS sessions, sum(lifetime_value)::text AS lifetime_value
       FROM customers WHERE customer_id LIKE $1 GROUP BY 1 ORDER BY 2 DESC`,
      [like],
    );
    say('customer metrics (kept by the processors as the events landed):');
    console.table(metrics.rows);
    const sendsLanded = async () =>
      (
        await db.query<{ n: number }>(
          'demo.sends-count',
          'SELECT coalesce(sum(total_sent), 0)::int AS n FROM campaigns WHERE id = $1',
          [campaignId],
        )
      ).rows[0]!.n;
    while (Date.now() < deadline && (await sendsLanded()) < config.customers) await sleep(500);
    const campaign = await db.query(
      'demo.campaign-counters',
      `SELECT total_sent, total_delivered, total_opened, total_clicked, total_converted,
              total_revenue_attributed::text AS revenue, open_rate::text, click_rate::text, roi::text
       FROM campaigns WHERE id = $1`,
      [campaignId],
    );
    say("the campaign's counters (kept from its provider events and the orders it converted):");
    console.table(campaign.rows);
    const ordered = async () =>
      (
        await db.query<{ n: number }>(
          'demo.ordered',
          'SELECT count(*)::int AS n FROM customers WHERE customer_id LIKE $1 AND lifetime_value > 0',
          [like],
        )
      ).rows[0]!.n;
    const members = async () =>
      (
        await db.query<{ n: number }>(
          'demo.members',
          'SELECT count(*)::int AS n FROM segment_memberships WHERE segment_id = $1 AND is_active',
          [segmentId],
        )
      ).rows[0]!.n;
    while (Date.now() < deadline && (await members()) < (await ordered())) await sleep(500);
    // The statistics follow within SEGMENTS_STATS_INTERVAL_MS (10 s) of the last change.
    await sleep(11_000);
    const stats = await db.query(
      'demo.segment-stats',
      `SELECT name, customer_count, average_ltv::text, average_order_value::text, criteria_error
       FROM segments WHERE id = $1`,
      [segmentId],
    );
    say(`the segment "demo-${runId} customers who ordered" (${await members()} active members, kept live):`);
    console.table(stats.rows);
  } finally {
    await db.end();
  }
});
