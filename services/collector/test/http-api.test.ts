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

t.test('RudderStack sends "userId": "" for anonymous visitors: an empty id is an absent one', async (t) => {
  const h = await harness();
  const post = (url: string, payload: object) =>
    h.app.inject({ method: 'POST', url, headers: auth, payload });

  const anon = await post('/v1/track', { userId: '', anonymousId: 'a-1', event: 'Product Viewed' });
  t.equal(anon.statusCode, 200, anon.body);
  const user = await post('/v1/identify', { userId: 'u-1', anonymousId: '', traits: {} });
  t.equal(user.statusCode, 200, user.body);
  const batch = await post('/v1/batch', {
    batch: [
      { type: 'page', userId: '', anonymousId: 'a-2' },
      { type: 'group', userId: 'u-2', anonymousId: '', groupId: 'g-1' },
    ],
  });
  t.equal(batch.statusCode, 200, batch.body);
  t.same(
    h.published.map((p) => [p.key, p.value.userId, p.value.anonymousId]),
    [
      ['a-1', null, 'a-1'],
      ['u-1', 'u-1', null],
      ['a-2', null, 'a-2'],
      ['u-2', 'u-2', null],
    ],
    'the empty id is null in the record and never the key',
  );

  const order = await post('/v1/orders', { userId: '', anonymousId: 'a-3', order_id: 'o-1' });
  t.equal(order.statusCode, 200, order.body);
  const ce = await post('/v1/campaign-events', {
    campaign_id: '7d0c8a3e-1b2c-4d5e-8f90-123456789abc',
    userId: 'u-3',
    anonymousId: '',
    event: 'opened',
    timestamp: '2026-11-20T10:00:00Z',
  });
  t.equal(ce.statusCode, 200, ce.body);
  t.same(
    h.published.slice(4).map((p) => [p.topic, p.key, p.value.userId, p.value.anonymousId]),
    [
      ['cdp.orders', 'a-3', null, 'a-3'],
      ['cdp.campaign-events', 'u-3', 'u-3', null],
    ],
  );

  const count = h.published.length;
  const needsId = [{ field: '(body)', message: 'needs userId or anonymousId' }];
  for (const [url, payload] of [
    ['/v1/track', { userId: '', anonymousId: '', event: 'E' }],
    ['/v1/page', { userId: '', anonymousId: null }],
    ['/v1/orders', { userId: '', order_id: 'o-2' }],
  ] as const) {
    const res = await post(url, payload);
    t.equal(res.statusCode, 400, `${url} ${JSON.stringify(payload)}`);
    t.same(res.json().errors, needsId);
  }
  const inBatch = await post('/v1/batch', { batch: [{ type: 'track', userId: '', event: 'E' }] });
  t.equal(inBatch.statusCode, 400);
  t.same(inBatch.json().errors, [{ field: 'batch[0]', message: 'needs userId or anonymousId' }]);
  const alias = await post('/v1/alias', { userId: 'u', previousId: '' });
  t.equal(alias.statusCode, 400, 'an alias needs a previousId that is not ""');
  t.same(
    alias.json().errors.map((e: { field: string }) => e.field),
    ['previousId'],
  );
  const aliasUser = await post('/v1/alias', { userId: '', anonymousId: 'a', previousId: 'a' });
  t.equal(aliasUser.statusCode, 400, 'an alias needs a userId that is not ""');
  t.same(
    aliasUser.json().errors.map((e: { field: string }) => e.field),
    ['userId'],
  );
  const group = await post('/v1/group', { userId: 'u', groupId: '' });
  t.equal(group.statusCode, 400, 'a group needs a groupId that is not ""');
  t.same(
    group.json().errors.map((e: { field: string }) => e.field),
    ['groupId'],
  );
  t.equal(h.published.length, count, 'nothing of the refused requests was published');
});

t.test(
  'analytics-next paths: /v1/t /v1/p /v1/i /v1/g /v1/a /v1/s and /v1/b, text/plain with writeKey in the body',
  async (t) => {
    const h = await harness();
    // As analytics-next 1.84 sends them: text/plain, writeKey in the body and as Basic auth, X-Retry-Count on a retry.
    const headers = { 'content-type': 'text/plain', authorization: basic(WRITE_KEY), 'x-retry-count': '1' };
    const base = {
      writeKey: WRITE_KEY,
      anonymousId: 'a-1',
      userId: null,
      sentAt: '2026-11-20T10:00:01.000Z',
    };
    const calls = [
      [
        '/v1/t',
        { ...base, type: 'track', event: 'Product Viewed', messageId: 'ajs-t' },
        'cdp.events',
        'TRACK',
      ],
      [
        '/v1/p',
        { ...base, type: 'page', properties: { url: 'https://x/' }, messageId: 'ajs-p' },
        'cdp.events',
        'PAGE',
      ],
      ['/v1/s', { ...base, type: 'screen', name: 'S', messageId: 'ajs-s' }, 'cdp.events', 'SCREEN'],
      [
        '/v1/i',
        { ...base, type: 'identify', userId: 'u-1', traits: {}, messageId: 'ajs-i' },
        'cdp.identities',
        'IDENTIFY',
      ],
      ['/v1/g', { ...base, type: 'group', groupId: 'g', messageId: 'ajs-g' }, 'cdp.identities', 'GROUP'],
      [
        '/v1/a',
        { ...base, type: 'alias', userId: 'u-1', previousId: 'a-1', messageId: 'ajs-a' },
        'cdp.identities',
        'ALIAS',
      ],
    ] as const;
    for (const [url, body] of calls) {
      const res = await h.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });
      t.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }
    // Without the Authorization header (analytics-next before 1.84): the body's writeKey suffices.
    const bodyOnly = await h.app.inject({
      method: 'POST',
      url: '/v1/t',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ ...base, type: 'track', event: 'E', messageId: 'ajs-t2' }),
    });
    t.equal(bodyOnly.statusCode, 200, bodyOnly.body);
    const batch = await h.app.inject({
      method: 'POST',
      url: '/v1/b',
      headers: { 'content-type': 'text/plain', authorization: basic(WRITE_KEY) },
      payload: JSON.stringify({
        writeKey: WRITE_KEY,
        batch: [
          { writeKey: WRITE_KEY, type: 'page', anonymousId: 'a-1', userId: null, messageId: 'ajs-b1' },
          { writeKey: WRITE_KEY, type: 'track', anonymousId: 'a-1', event: 'E', messageId: 'ajs-b2' },
        ],
        sentAt: '2026-11-20T10:00:02.000Z',
      }),
    });
    t.equal(batch.statusCode, 200, batch.body);
    t.same(
      h.published.map((p) => [p.value.messageId, p.topic, p.value.type]),
      [
        ...calls.map(([, body, topic, type]) => [body.messageId, topic, type]),
        ['ajs-t2', 'cdp.events', 'TRACK'],
        ['ajs-b1', 'cdp.events', 'PAGE'],
        ['ajs-b2', 'cdp.events', 'TRACK'],
      ],
    );
    t.equal(h.published.at(-1)!.value.sentAt, Date.parse('2026-11-20T10:00:02.000Z'), "the batch's sentAt");

    // An alias route validates like its route: the track schema, the event size limit.
    const invalid = await h.app.inject({
      method: 'POST',
      url: '/v1/t',
      headers,
      payload: JSON.stringify(base),
    });
    t.equal(invalid.statusCode, 400);
    t.same(invalid.json().errors, [{ field: 'event', message: 'is required' }]);
    const big = await h.app.inject({
      method: 'POST',
      url: '/v1/t',
      headers,
      payload: JSON.stringify({ ...base, event: 'E', properties: { big: 'x'.repeat(33 * 1024) } }),
    });
    t.equal(big.statusCode, 413);
    const metrics = (await h.app.inject({ url: '/metrics' })).body;
    t.match(
      metrics,
      /collector_requests_total\{.*route="\/v1\/t".*status="200"/,
      'counted under its own path',
    );
  },
);

t.test(
  'RudderStack beacon: /beacon/v1/batch?writeKey= as text/plain; the query key is taken nowhere else',
  async (t) => {
    const h = await harness();
    const payload = JSON.stringify({
      batch: [
        {
          type: 'page',
          userId: '',
          anonymousId: 'a-1',
          messageId: 'rs-1',
          sentAt: '2026-11-20T10:00:01.000Z',
        },
        { type: 'track', userId: '', anonymousId: 'a-1', event: 'E', messageId: 'rs-2' },
      ],
      sentAt: '2026-11-20T10:00:01.000Z',
    });
    const res = await h.app.inject({
      method: 'POST',
      url: `/beacon/v1/batch?writeKey=${WRITE_KEY}`,
      headers: { 'content-type': 'text/plain' },
      payload,
    });
    t.equal(res.statusCode, 200, res.body);
    t.same(
      h.published.map((p) => [p.value.messageId, p.key, p.value.userId]),
      [
        ['rs-1', 'a-1', null],
        ['rs-2', 'a-1', null],
      ],
    );
    const noKey = await h.app.inject({
      method: 'POST',
      url: '/beacon/v1/batch',
      headers: { 'content-type': 'text/plain' },
      payload,
    });
    t.equal(noKey.statusCode, 401);
    const wrongKey = await h.app.inject({
      method: 'POST',
      url: '/beacon/v1/batch?writeKey=nope',
      headers: { 'content-type': 'text/plain' },
      payload,
    });
    t.equal(wrongKey.statusCode, 401);
    const elsewhere = await h.app.inject({
      method: 'POST',
      url: `/v1/batch?writeKey=${WRITE_KEY}`,
      headers: { 'content-type': 'text/plain' },
      payload,
    });
    t.equal(elsewhere.statusCode, 401, 'only the beacon route reads the write key from the URL');
    t.equal(h.published.length, 2);
  },
);

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

t.test(
  'CORS: the preflight allows the headers each SDK asks for, with credentials, for any origin',
  async (t) => {
    const h = await harness();
    // Access-Control-Request-Headers as Chromium sent them for analytics-next 1.84.3 (fetch,
    // text/plain, so only authorization; x-retry-count on a retry) and RudderStack 3.34.1 (XHR, JSON;
    // rsa-* on a retry, rsa-recovered for events reclaimed from storage after a reload, per its source).
    // browser-sdks.test.ts checks the same against the real SDKs.
    const asked = {
      '/v1/t': 'authorization',
      '/v1/p': 'authorization,x-retry-count',
      '/v1/b': 'authorization',
      '/v1/track': 'anonymousid,authorization,content-type,sentat',
      '/v1/batch':
        'anonymousid,authorization,content-type,rsa-retry-attempt,rsa-retry-reason,rsa-since-first-attempt,rsa-since-last-attempt,sentat',
      '/v1/page': 'anonymousid,authorization,content-type,rsa-recovered,sentat',
    };
    for (const [url, requested] of Object.entries(asked)) {
      const pre = await h.app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': requested,
        },
      });
      t.equal(pre.statusCode, 204, url);
      t.equal(pre.headers['access-control-allow-origin'], 'https://shop.example', 'the origin, reflected');
      t.equal(pre.headers['access-control-allow-credentials'], 'true');
      t.match(String(pre.headers['access-control-allow-methods']), /\bPOST\b/);
      const allowed = String(pre.headers['access-control-allow-headers'])
        .split(',')
        .map((x) => x.trim().toLowerCase());
      for (const header of requested.split(',')) t.ok(allowed.includes(header), `${url} allows ${header}`);
      t.match(String(pre.headers.vary), /Origin/i);
      t.match(
        String(pre.headers.vary),
        /Access-Control-Request-Headers/i,
        'the answer varies with what was asked',
      );
    }
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...auth, origin: 'https://other.example' },
      payload: track(),
    });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['access-control-allow-origin'], 'https://other.example');
    t.equal(res.headers['access-control-allow-credentials'], 'true');
    t.match(
      String(res.headers['access-control-expose-headers']),
      /retry-after/i,
      'readable by fetch on a 429',
    );
  },
);

t.test('health, readiness, metrics, OpenAPI', async (t) => {
  const h = await harness();
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
    '/v1/t',
    '/v1/p',
    '/v1/s',
    '/v1/i',
    '/v1/g',
    '/v1/a',
    '/v1/b',
    '/beacon/v1/batch',
  ]) {
    t.ok(doc.paths[p]?.post, `${p} documented`);
  }
  const routes = h.app
    .printRoutes({ commonPrefix: false })
    .split('\n')
    .filter((line) => line.includes('POST'));
  t.equal(Object.keys(doc.paths).filter((p) => doc.paths[p].post).length, routes.length, 'every POST route');
  t.same(
    doc.paths['/v1/t'].post.requestBody,
    doc.paths['/v1/track'].post.requestBody,
    'an alias has its schema',
  );
  t.match(
    doc.paths['/beacon/v1/batch'].post.parameters,
    [{ in: 'query', name: 'writeKey' }],
    'the beacon documents its query key',
  );
});
