/**
 * The collector on the real broker, registry and database: what a request produced is read back
 * from the contract's topics and decoded through the registry.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Topics } from '../../shared/src/topics.js';
import { randomName } from '../../shared/test/support.js';
import {
  endOffsets,
  readRange,
  testKafka,
  type Consumed,
  type Offsets,
} from '../../shared/test/kafka-support.js';
import { wiredCollector, type WiredCollector } from './wired.js';

const INPUTS = [Topics.events, Topics.identities, Topics.orders, Topics.campaignEvents];
const kafka = testKafka();
let c: WiredCollector;

t.before(async () => {
  c = await wiredCollector();
});
t.teardown(() => c?.close());

type Decoded = Consumed & { decoded: Record<string, unknown> };

/** Our records (by messageId) among everything produced to `topics` since `from`, decoded. */
async function ours(from: Offsets, messageIds: Set<string>): Promise<Decoded[]> {
  const all = await readRange(kafka, from);
  const out: Decoded[] = [];
  for (const r of all) {
    // Other tests write to these topics too, some of it not Avro: skip what is not ours.
    const decoded = await c.codec.decode<Record<string, unknown>>(r.value!).catch(() => undefined);
    if (decoded && messageIds.has(decoded.messageId as string)) out.push({ ...r, decoded });
  }
  return out;
}

const byId = (records: Decoded[]) => {
  const map = new Map<string, Decoded[]>();
  for (const r of records) {
    const id = r.decoded.messageId as string;
    map.set(id, [...(map.get(id) ?? []), r]);
  }
  return map;
};

t.test('a batch, an order and campaign events land on their topics as registry-decodable Avro', async (t) => {
  const from = await endOffsets(kafka, INPUTS);
  const userId = randomName('user');
  const anonymousId = randomName('anon');
  const ids = {
    track: randomUUID(),
    page: randomUUID(),
    identify: randomUUID(),
    order: randomUUID(),
    sent: randomUUID(),
    opened: randomUUID(),
  };
  const orderId = randomName('order');
  const campaignId = randomUUID(); // campaign ids are uuids, as in the seed
  const context = {
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0',
    locale: 'de-DE',
    timezone: 'Europe/Berlin',
    page: {
      url: 'https://shop.example/p/1?utm_source=news',
      path: '/p/1',
      title: 'Shoe',
      referrer: 'https://search.example/',
    },
    campaign: { name: 'spring', source: 'news', medium: 'email' },
    library: { name: 'analytics.js', version: '2.11.1' },
    app: { build: '42' },
  };

  const before = Date.now();
  const batch = await c.app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: c.auth,
    payload: {
      sentAt: '2026-03-01T10:00:05.000Z',
      batch: [
        {
          type: 'track',
          messageId: ids.track,
          userId,
          anonymousId,
          event: 'Product Viewed',
          properties: { sku: 'SKU-1', price: 59.9 },
          timestamp: '2026-03-01T10:00:00.000Z',
          context,
        },
        {
          type: 'page',
          messageId: ids.page,
          anonymousId,
          name: 'Home',
          properties: { url: 'https://shop.example/', title: 'Home' },
          timestamp: '2026-03-01T10:00:01.000Z',
        },
        {
          type: 'identify',
          messageId: ids.identify,
          userId,
          anonymousId,
          traits: { email: `${userId}@example.com`, plan: 'pro' },
          timestamp: '2026-03-01T10:00:02.000Z',
        },
      ],
    },
  });
  t.equal(batch.statusCode, 200, batch.body);
  t.same(batch.json(), { success: true });

  const order = await c.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: c.auth,
    payload: {
      messageId: ids.order,
      userId,
      order_id: orderId,
      order_status: 'confirmed',
      order_total: 129.8,
      subtotal: 119.8,
      tax_amount: 10,
      currency: 'eur',
      ordered_at: '2026-03-01T10:05:00.000Z',
      campaign_id: campaignId,
      items: [{ product_id: 'p-1', product_name: 'Shoe', unit_price: 59.9, quantity: 2, total_price: 119.8 }],
    },
  });
  t.equal(order.statusCode, 200, order.body);

  const campaign = await c.app.inject({
    method: 'POST',
    url: '/v1/campaign-events',
    headers: c.auth,
    payload: {
      events: [
        {
          messageId: ids.sent,
          campaign_id: campaignId,
          userId,
          event: 'sent',
          timestamp: '2026-03-01T09:00:00.000Z',
          variant: 'A',
        },
        {
          messageId: ids.opened,
          campaign_id: campaignId,
          userId,
          event: 'opened',
          timestamp: '2026-03-01T09:30:00.000Z',
        },
      ],
    },
  });
  t.equal(campaign.statusCode, 200, campaign.body);
  const after = Date.now();

  const found = byId(await ours(from, new Set(Object.values(ids))));
  for (const [name, id] of Object.entries(ids))
    t.equal(found.get(id)?.length, 1, `${name} (${id}) is on Kafka exactly once`);
  const one = (id: string) => found.get(id)![0]!;

  for (const id of Object.values(ids)) {
    const r = one(id);
    t.equal(r.decoded.sourceId, c.source.id, `${r.topic}: sourceId is the source's`);
    const receivedAt = r.decoded.receivedAt as number;
    t.ok(
      receivedAt >= before && receivedAt <= after,
      `${r.topic}: receivedAt stamped at receipt (${receivedAt})`,
    );
  }

  const track = one(ids.track);
  t.equal(track.topic, Topics.events);
  t.equal(track.key, userId, 'keyed by userId when there is one');
  t.match(track.decoded, {
    type: 'TRACK',
    event: 'Product Viewed',
    userId,
    anonymousId,
    timestamp: Date.parse('2026-03-01T10:00:00.000Z'),
    sentAt: Date.parse('2026-03-01T10:00:05.000Z'),
    context: {
      ip: '203.0.113.7',
      userAgent: context.userAgent,
      locale: 'de-DE',
      timezone: 'Europe/Berlin',
      page: {
        url: context.page.url,
        path: '/p/1',
        title: 'Shoe',
        referrer: 'https://search.example/',
        search: null,
      },
      campaign: { name: 'spring', source: 'news', medium: 'email', term: null, content: null },
      library: { name: 'analytics.js', version: '2.11.1' },
    },
  });
  t.same(JSON.parse(track.decoded.propertiesJson as string), { sku: 'SKU-1', price: 59.9 });
  t.same(JSON.parse((track.decoded.context as { extraJson: string }).extraJson), { app: { build: '42' } });

  const page = one(ids.page);
  t.equal(page.topic, Topics.events);
  t.equal(page.key, anonymousId, 'keyed by anonymousId when there is no userId');
  t.match(page.decoded, {
    type: 'PAGE',
    name: 'Home',
    userId: null,
    anonymousId,
    context: { page: { url: 'https://shop.example/', title: 'Home' } },
  });
  t.equal(
    (page.decoded.context as { ip: string }).ip,
    '127.0.0.1',
    'the client address when the context has no ip',
  );

  const identify = one(ids.identify);
  t.equal(identify.topic, Topics.identities);
  t.equal(identify.key, userId);
  t.match(identify.decoded, {
    type: 'IDENTIFY',
    userId,
    anonymousId,
    timestamp: Date.parse('2026-03-01T10:00:02.000Z'),
  });
  t.same(JSON.parse(identify.decoded.traitsJson as string), { email: `${userId}@example.com`, plan: 'pro' });

  const ord = one(ids.order);
  t.equal(ord.topic, Topics.orders);
  t.equal(ord.key, userId);
  t.match(ord.decoded, {
    order_id: orderId,
    order_status: 'confirmed',
    order_total: 129.8,
    subtotal: 119.8,
    tax_amount: 10,
    currency: 'EUR',
    ordered_at: Date.parse('2026-03-01T10:05:00.000Z'),
    campaign_id: campaignId,
    items: [{ product_id: 'p-1', product_name: 'Shoe', unit_price: 59.9, quantity: 2, total_price: 119.8 }],
  });

  const sent = one(ids.sent);
  const opened = one(ids.opened);
  for (const r of [sent, opened]) {
    t.equal(r.topic, Topics.campaignEvents);
    t.equal(r.key, userId);
  }
  t.match(sent.decoded, {
    campaign_id: campaignId,
    userId,
    event: 'sent',
    variant: 'A',
    timestamp: Date.parse('2026-03-01T09:00:00.000Z'),
  });
  t.match(opened.decoded, { campaign_id: campaignId, event: 'opened', variant: null });
  t.equal(sent.partition, opened.partition, "one customer's campaign events share a partition");
});

t.test(
  '50 concurrent single-event requests: all 200, all 50 records on Kafka, sent in few produce calls',
  async (t) => {
    const from = await endOffsets(kafka, [Topics.events]);
    const flushesBefore = c.flushes.length;
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const responses = await Promise.all(
      ids.map((messageId, i) =>
        c.app.inject({
          method: 'POST',
          url: '/v1/track',
          headers: c.auth,
          payload: { messageId, userId: randomName('user'), event: 'Concurrent', properties: { i } },
        }),
      ),
    );
    t.same(
      responses.map((r) => r.statusCode),
      ids.map(() => 200),
      'every request got 200',
    );
    const flushes = c.flushes.slice(flushesBefore);
    t.equal(
      flushes.reduce((n, f) => n + f.records, 0),
      50,
      'the publisher sent 50 records',
    );
    t.ok(
      flushes.length < 50,
      `concurrent requests shared produce calls: ${flushes.length} flushes of ${flushes.map((f) => f.records).join(',')}`,
    );

    const found = byId(await ours(from, new Set(ids)));
    t.equal(found.size, 50, 'all 50 records are on cdp.events');
    t.ok(
      [...found.values()].every((rs) => rs.length === 1),
      'each exactly once',
    );
    t.same([...new Set([...found.values()].map((rs) => rs[0]!.topic))], [Topics.events]);
  },
);
