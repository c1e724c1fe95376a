/**
 * Segment's own Node client, pointed at the collector by changing only the host: every call is
 * acknowledged (its callback gets no error) and its record is on its topic.
 */
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { Topics } from '../../shared/src/topics.js';
import { randomName } from '../../shared/test/support.js';
import { endOffsets, readRange, testKafka } from '../../shared/test/kafka-support.js';
import { wiredCollector, type WiredCollector } from './wired.js';

const kafka = testKafka();
let c: WiredCollector;

t.before(async () => {
  c = await wiredCollector();
});
t.teardown(() => c?.close());

interface Outcome {
  call: string;
  err: unknown;
  messageId: string | undefined;
}

t.test(
  'identify, track, page and Order Completed from @segment/analytics-node are acknowledged and on their topics',
  async (t) => {
    await c.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = c.app.server.address() as AddressInfo;
    const from = await endOffsets(kafka, [Topics.events, Topics.identities]);

    const analytics = new Analytics({
      writeKey: c.writeKey,
      host: `http://127.0.0.1:${port}`,
      path: '/v1/batch',
      flushAt: 2,
      flushInterval: 200,
      maxRetries: 2,
      httpRequestTimeout: 10_000,
    });
    const responses: { status: number; url: string }[] = [];
    analytics.on('http_response', (r) => responses.push({ status: r.status, url: r.url }));
    const requests: { authorization: string | undefined; writeKeyInBody: boolean }[] = [];
    analytics.on('http_request', (r) =>
      requests.push({
        authorization: (r.headers as Record<string, string>).Authorization,
        writeKeyInBody: JSON.parse(r.body).writeKey === c.writeKey,
      }),
    );

    const userId = randomName('user');
    const anonymousId = randomName('anon');
    const orderId = randomName('order');
    const orderProperties = {
      order_id: orderId,
      checkout_id: randomName('checkout'),
      affiliation: 'Online Store',
      total: 27.5,
      subtotal: 22.5,
      revenue: 25,
      shipping: 3,
      tax: 2,
      discount: 2.5,
      coupon: 'hasbros',
      currency: 'USD',
      products: [
        {
          product_id: '507f1f77bcf86cd799439011',
          sku: '45790-32',
          name: 'Monopoly: 3rd Edition',
          price: 19,
          quantity: 1,
          category: 'Games',
        },
        {
          product_id: '505bd76785ebb509fc183733',
          sku: '46493-32',
          name: 'Uno Card Game',
          price: 3,
          quantity: 2,
          category: 'Games',
        },
      ],
    };

    const outcomes: Promise<Outcome>[] = [];
    const record = (
      call: string,
      send: (cb: (err?: unknown, ctx?: { event: { messageId?: string } }) => void) => void,
    ) =>
      outcomes.push(
        new Promise((resolve) => send((err, ctx) => resolve({ call, err, messageId: ctx?.event.messageId }))),
      );

    record('identify', (cb) =>
      analytics.identify(
        { userId, anonymousId, traits: { email: `${userId}@example.com`, name: 'Ada' } },
        cb,
      ),
    );
    record('track', (cb) =>
      analytics.track({ userId, event: 'Product Viewed', properties: { sku: '45790-32', price: 19 } }, cb),
    );
    record('page', (cb) =>
      analytics.page(
        {
          anonymousId,
          category: 'Docs',
          name: 'Pricing',
          properties: { url: 'https://shop.example/pricing', title: 'Pricing' },
        },
        cb,
      ),
    );
    record('Order Completed', (cb) =>
      analytics.track({ userId, event: 'Order Completed', properties: orderProperties }, cb),
    );

    await analytics.closeAndFlush({ timeout: 20_000 });
    const results = await Promise.all(outcomes);
    for (const r of results) {
      t.equal(r.err, undefined, `${r.call}: the callback got no error`);
      t.type(r.messageId, 'string', `${r.call}: the SDK gave it a messageId`);
    }
    t.ok(responses.length >= 2, `the SDK sent ${responses.length} batches`);
    // On a loaded machine the collector may answer 503 (Kafka slow), which the SDK retries; the
    // callbacks above prove every call was finally acknowledged. Anything else is a bug.
    const statuses = responses.map((r) => r.status);
    t.ok(
      statuses.every((s) => s === 200 || s === 503) && statuses.at(-1) === 200,
      `every HTTP response was 200, or a 503 the SDK retried (${statuses.join(', ')})`,
    );
    t.ok(
      requests.every((r) => r.authorization === `Basic ${Buffer.from(`${c.writeKey}:`).toString('base64')}`),
      'the SDK authenticated with the write key as the HTTP Basic user',
    );

    const ids = new Map(results.map((r) => [r.messageId!, r.call]));
    const found = new Map<string, { topic: string; key: string | null; value: Record<string, unknown> }[]>();
    for (const rec of await readRange(kafka, from)) {
      const value = await c.codec.decode<Record<string, unknown>>(rec.value!).catch(() => undefined);
      const id = value?.messageId as string | undefined;
      if (id && ids.has(id))
        found.set(id, [...(found.get(id) ?? []), { topic: rec.topic, key: rec.key, value: value! }]);
    }
    const on = (call: string) => {
      const id = results.find((r) => r.call === call)!.messageId!;
      const recs = found.get(id) ?? [];
      t.equal(recs.length, 1, `${call}: on Kafka exactly once`);
      return recs[0] ?? { topic: '', key: null, value: {} };
    };

    const identify = on('identify');
    t.equal(identify.topic, Topics.identities);
    t.equal(identify.key, userId);
    t.match(identify.value, {
      type: 'IDENTIFY',
      userId,
      anonymousId,
      sourceId: c.source.id,
      context: { library: { name: '@segment/analytics-node' } },
    });
    t.same(JSON.parse(identify.value.traitsJson as string), { email: `${userId}@example.com`, name: 'Ada' });

    const track = on('track');
    t.equal(track.topic, Topics.events);
    t.equal(track.key, userId);
    t.match(track.value, { type: 'TRACK', event: 'Product Viewed', userId, sourceId: c.source.id });
    t.same(JSON.parse(track.value.propertiesJson as string), { sku: '45790-32', price: 19 });

    const page = on('page');
    t.equal(page.topic, Topics.events);
    t.equal(page.key, anonymousId);
    t.match(page.value, { type: 'PAGE', name: 'Pricing', category: 'Docs', userId: null, anonymousId });
    t.match(page.value.context, { page: { url: 'https://shop.example/pricing', title: 'Pricing' } });

    const order = on('Order Completed');
    t.equal(
      order.topic,
      Topics.events,
      'Order Completed is an event; the orders processor derives the order',
    );
    t.equal(order.key, userId);
    t.match(order.value, { type: 'TRACK', event: 'Order Completed', userId, sourceId: c.source.id });
    t.same(
      JSON.parse(order.value.propertiesJson as string),
      orderProperties,
      'the e-commerce properties arrive unchanged',
    );
  },
);
