import t from 'tap';
import { gzipSync } from 'node:zlib';
import { RetryableError } from '../../shared/src/errors.js';
import { WRITE_KEY, basic, harness } from './support.js';

const auth = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };
const track = (extra: Record<string, unknown> = {}) => ({
  userId: 'u-1',
  event: 'Product Viewed',
  properties: { sku: 'A1', revenue: 12.5 },
  timestamp: '2026-11-20T10:00:00.000Z',
  sentAt: '2026-11-20T10:00:01.000Z',
  messageId: 'm-1',
  context: {
    ip: '203.0.113.9',
    userAgent: 'Mozilla/5.0',
    page: { url: 'https://shop.example/p?utm_source=x' },
    campaign: { source: 'news', medium: 'email' },
    app: { name: 'web' },
  },
  ...extra,
});

t.test('200: track is encoded to cdp.events, keyed by userId', async (t) => {
  const h = await harness();
  const res = await h.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: track() });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json(), { success: true });
  t.equal(h.published.length, 1);
  const [rec] = h.published;
  t.equal(rec!.topic, 'cdp.events');
  t.equal(rec!.key, 'u-1');
  t.match(rec!.value, {
    messageId: 'm-1',
    sourceId: '11111111-1111-4111-8111-111111111111',
    type: 'TRACK',
    event: 'Product Viewed',
    userId: 'u-1',
    timestamp: Date.parse('2026-11-20T10:00:00.000Z'),
    sentAt: Date.parse('2026-11-20T10:00:01.000Z'),
    context: {
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      campaign: { source: 'news', medium: 'email' },
      page: { url: 'https://shop.example/p?utm_source=x' },
    },
  });
  t.same(JSON.parse(rec!.value.propertiesJson as string), { sku: 'A1', revenue: 12.5 });
  t.same(JSON.parse((rec!.value.context as { extraJson: string }).extraJson), { app: { name: 'web' } });
  t.ok((rec!.value.receivedAt as number) > Date.now() - 10_000);
});

t.test('200: writeKey in a text/plain body (sendBeacon), gzip bodies, and a stamped messageId', async (t) => {
  const h = await harness();
  const beacon = await h.app.inject({
    method: 'POST',
    url: '/v1/page',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    payload: JSON.stringify({
      writeKey: WRITE_KEY,
      anonymousId: 'anon-1',
      name: 'Home',
      properties: { url: 'https://x/', title: 'Home' },
    }),
  });
  t.equal(beacon.statusCode, 200, beacon.body);
  const gz = await h.app.inject({
    method: 'POST',
    url: '/v1/identify',
    headers: { ...auth, 'content-encoding': 'gzip' },
    payload: gzipSync(JSON.stringify({ userId: 'u-2', traits: { email: 'a@b.c' } })),
  });
  t.equal(gz.statusCode, 200, gz.body);
  const [page, identify] = h.published;
  t.match(page!.value, {
    type: 'PAGE',
    name: 'Home',
    anonymousId: 'anon-1',
    userId: null,
    context: { page: { url: 'https://x/', title: 'Home' } },
  });
  t.match(page!.value.messageId, /^cdp-[0-9a-f]{40}$/, 'a messageId is derived when the client sent none');
  t.equal(page!.key, 'anon-1');
  t.equal(identify!.topic, 'cdp.identities');
  t.match(identify!.value, { type: 'IDENTIFY', userId: 'u-2' });
  t.same(JSON.parse(identify!.value.traitsJson as string), { email: 'a@b.c' });
});

t.test('200: a batch of every type goes to its topic; orders and campaign events too', async (t) => {
  const h = await harness();
  const batch = [
    { type: 'track', ...track({ messageId: 'b1' }) },
    { type: 'page', anonymousId: 'a', name: 'P' },
    { type: 'screen', userId: 'u', name: 'S' },
    { type: 'identify', userId: 'u', traits: { name: 'N' } },
    { type: 'group', userId: 'u', groupId: 'g' },
    { type: 'alias', userId: 'u', previousId: 'a' },
  ];
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: auth,
    payload: { batch, sentAt: '2026-11-20T10:00:02Z' },
  });
  t.equal(res.statusCode, 200, res.body);
  t.same(
    h.published.map((p) => [p.topic, p.value.type]),
    [
      ['cdp.events', 'TRACK'],
      ['cdp.events', 'PAGE'],
      ['cdp.events', 'SCREEN'],
      ['cdp.identities', 'IDENTIFY'],
      ['cdp.identities', 'GROUP'],
      ['cdp.identities', 'ALIAS'],
    ],
  );
  t.equal(
    h.published[1]!.value.sentAt,
    Date.parse('2026-11-20T10:00:02Z'),
    'batch-level sentAt applies to items without one',
  );

  const order = {
    userId: 'u',
    order_id: 'o-1',
    order_total: 30.5,
    subtotal: 28,
    currency: 'eur',
    ordered_at: '2026-11-20T10:00:00Z',
    items: [{ product_id: 'p', product_name: 'P', unit_price: 14, quantity: 2 }],
  };
  t.equal(
    (await h.app.inject({ method: 'POST', url: '/v1/orders', headers: auth, payload: order })).statusCode,
    200,
  );
  t.equal(
    (
      await h.app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: auth,
        payload: { orders: [{ userId: 'u', order_id: 'o-1', order_status: 'delivered' }] },
      })
    ).statusCode,
    200,
  );
  const orders = h.published.filter((p) => p.topic === 'cdp.orders');
  t.match(orders[0]!.value, {
    order_id: 'o-1',
    order_total: 30.5,
    currency: 'EUR',
    order_status: null,
    items: [{ product_id: 'p', quantity: 2 }],
  });
  t.match(orders[1]!.value, { order_id: 'o-1', order_status: 'delivered', order_total: null, items: null });

  const ce = {
    campaign_id: '7d0c8a3e-1b2c-4d5e-8f90-123456789abc',
    userId: 'u',
    event: 'opened',
    timestamp: '2026-11-20T10:00:00Z',
  };
  t.equal(
    (
      await h.app.inject({
        method: 'POST',
        url: '/v1/campaign-events',
        headers: auth,
        payload: { events: [ce, { ...ce, event: 'clicked', url: 'https://x' }] },
      })
    ).statusCode,
    200,
  );
  t.same(
    h.published.filter((p) => p.topic === 'cdp.campaign-events').map((p) => p.value.event),
    ['opened', 'clicked'],
  );
});

t.test('200: analytics.js sends userId null for anonymous visitors; both null is a 400', async (t) => {
  const h = await harness();
  const anon = await h.app.inject({
    method: 'POST',
    url: '/v1/page',
    headers: auth,
    payload: { userId: null, anonymousId: 'a-1', name: 'Home' },
  });
  t.equal(anon.statusCode, 200, anon.body);
  t.equal(h.published[0]!.key, 'a-1');
  const none = await h.app.inject({
    method: 'POST',
    url: '/v1/page',
    headers: auth,
    payload: { userId: null, anonymousId: null },
  });
  t.equal(none.statusCode, 400);
  t.same(none.json().errors, [{ field: '(body)', message: 'needs userId or anonymousId' }]);
});

t.test('400: every bad field is named, batch items by index, nothing is published', async (t) => {
  const h = await harness();
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: auth,
    payload: {
      batch: [
        { type: 'track', userId: 'u', event: 'ok' },
        { type: 'track', userId: 'u' },
        { type: 'page', timestamp: 'yesterday' },
        { type: 'nope', userId: 'u' },
      ],
    },
  });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.equal(body.success, false);
  const fields = body.errors.map((e: { field: string }) => e.field);
  t.ok(fields.includes('batch[1].event'), JSON.stringify(body.errors));
  t.ok(fields.includes('batch[2]'), 'missing userId/anonymousId is named');
  t.ok(fields.includes('batch[2].timestamp'));
  t.ok(fields.includes('batch[3].type'));
  t.notOk(fields.some((f: string) => f.startsWith('batch[0]')));
  t.equal(h.published.length, 0, 'all or nothing');

  const bad = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers: auth,
    payload: '{"userId": "u", "event": ',
  });
  t.equal(bad.statusCode, 400);
  const order = await h.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: auth,
    payload: { userId: 'u', order_id: 'o', order_status: 'lost', order_total: -1 },
  });
  t.equal(order.statusCode, 400);
  t.same(
    order
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort(),
    ['order_status', 'order_total'],
  );
});

t.test('401: missing or unknown write key', async (t) => {
  const h = await harness();
  const none = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers: { 'content-type': 'application/json' },
    payload: track(),
  });
  t.equal(none.statusCode, 401);
  const wrong = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers: { ...auth, authorization: basic('nope') },
    payload: track(),
  });
  t.equal(wrong.statusCode, 401);
  t.equal(h.published.length, 0);
});

t.test(
  '413: an event over 32 KB, a batch item over 32 KB (by index), a body over 500 KB, a gzip bomb',
  async (t) => {
    const h = await harness();
    const big = 'x'.repeat(33 * 1024);
    t.equal(
      (
        await h.app.inject({
          method: 'POST',
          url: '/v1/track',
          headers: auth,
          payload: track({ properties: { big } }),
        })
      ).statusCode,
      413,
    );
    const item = await h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: {
        batch: [
          { type: 'track', ...track() },
          { type: 'track', ...track({ properties: { big } }) },
        ],
      },
    });
    t.equal(item.statusCode, 413);
    t.same(item.json().errors, [{ field: 'batch[1]', message: 'event is larger than 32768 bytes' }]);
    const batch = Array.from({ length: 20 }, () => ({
      type: 'track',
      ...track({ properties: { s: 'y'.repeat(30_000) } }),
    }));
    t.equal(
      (await h.app.inject({ method: 'POST', url: '/v1/batch', headers: auth, payload: { batch } }))
        .statusCode,
      413,
    );
    const bomb = gzipSync(
      Buffer.from(
        JSON.stringify({
          batch: [{ type: 'track', userId: 'u', event: 'e', properties: { z: '0'.repeat(5_000_000) } }],
        }),
      ),
    );
    t.ok(bomb.length < 500 * 1024);
    t.equal(
      (
        await h.app.inject({
          method: 'POST',
          url: '/v1/batch',
          headers: { ...auth, 'content-encoding': 'gzip' },
          payload: bomb,
        })
      ).statusCode,
      413,
    );
    t.equal(h.published.length, 0);
  },
);

t.test('415: unknown content type or encoding', async (t) => {
  const h = await harness();
  t.equal(
    (
      await h.app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { ...auth, 'content-type': 'application/xml' },
        payload: '<a/>',
      })
    ).statusCode,
    415,
  );
  t.equal(
    (
      await h.app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { ...auth, 'content-encoding': 'br' },
        payload: JSON.stringify(track()),
      })
    ).statusCode,
    415,
  );
});

t.test('429: over the per-source rate', async (t) => {
  const h = await harness({ RATE_LIMIT_PER_SOURCE: '3' });
  const codes = [];
  for (let i = 0; i < 5; i++)
    codes.push(
      (await h.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: track() })).statusCode,
    );
  t.same(codes, [200, 200, 200, 429, 429]);
});

t.test('503 with Retry-After when Kafka does not acknowledge', async (t) => {
  const h = await harness();
  h.failPublish(new RetryableError('kafka did not acknowledge within 5000 ms'));
  const res = await h.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: track() });
  t.equal(res.statusCode, 503);
  t.ok(Number(res.headers['retry-after']) > 0);
  t.equal(res.json().success, false);
});

t.test('503 at once when the event loop is overloaded; health still answers', async (t) => {
  const h = await harness({ MAX_EVENT_LOOP_DELAY_MS: '50' });
  await h.app.ready();
  // A loop that stays late, as under overload: 100 ms stalls for longer than one sample interval.
  const end = Date.now() + 1_500;
  while (Date.now() < end) {
    const stall = Date.now() + 100;
    while (Date.now() < stall);
    await new Promise((r) => setTimeout(r, 1));
  }
  const res = await h.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: track() });
  t.equal(res.statusCode, 503, res.body);
  t.ok(Number(res.headers['retry-after']) > 0);
  t.equal((await h.app.inject({ url: '/healthz' })).statusCode, 200);
  await h.app.close();
});

t.test('CORS preflight, health, readiness, metrics, OpenAPI', async (t) => {
  const h = await harness();
  const pre = await h.app.inject({
    method: 'OPTIONS',
    url: '/v1/track',
    headers: {
      origin: 'https://shop.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    },
  });
  t.equal(pre.statusCode, 204);
  t.equal(pre.headers['access-control-allow-origin'], 'https://shop.example');
  t.equal((await h.app.inject({ url: '/healthz' })).statusCode, 200);
  t.equal((await h.app.inject({ url: '/readyz' })).statusCode, 200);
  await h.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: track() });
  const metrics = (await h.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /collector_requests_total\{.*route="\/v1\/track".*status="200"/);
  t.match(metrics, /collector_events_total\{.*outcome="accepted"/);
  const doc = (await h.app.inject({ url: '/openapi.json' })).json();
  t.equal(doc.openapi, '3.1.0');
  for (const p of [
    '/v1/track',
    '/v1/identify',
    '/v1/page',
    '/v1/screen',
    '/v1/group',
    '/v1/alias',
    '/v1/batch',
    '/v1/orders',
    '/v1/campaign-events',
  ]) {
    t.ok(doc.paths[p]?.post, `${p} documented`);
  }
});
