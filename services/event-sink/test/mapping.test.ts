import t from 'tap';
import { mapEventRow, utmFromUrl } from '../src/mapping/event-row.js';
import { eventCategoryOf, eventTypeOf, snakeCase } from '../src/mapping/event-type.js';
import { checkTime, correctedTime } from '../../shared/src/time/occurred-at.js';
import { parseUserAgent } from '../src/mapping/user-agent.js';
import { copyLine, copyText, COPY_COLUMNS } from '../src/copy-text.js';
import { eventRecord } from './fixtures.js';

const limits = { maxFutureMs: 24 * 3600_000, earliestMs: Date.UTC(2000, 0, 1) };

t.test('event_type vocabulary', async (t) => {
  t.equal(eventTypeOf('PAGE', null), 'page_view');
  t.equal(eventTypeOf('SCREEN', 'Home'), 'screen_view');
  t.equal(eventTypeOf('TRACK', 'Signed Up'), 'signup');
  t.equal(eventTypeOf('TRACK', 'Logged In'), 'login');
  t.equal(eventTypeOf('TRACK', 'Product Added'), 'add_to_cart');
  t.equal(eventTypeOf('TRACK', 'Order Completed'), 'purchase');
  t.equal(eventTypeOf('TRACK', 'Product Viewed'), 'product_viewed');
  t.equal(snakeCase('checkoutStepViewed'), 'checkout_step_viewed');
  t.equal(snakeCase('  Video -- Played!! '), 'video_played');
  t.equal(eventTypeOf('TRACK', '!!!'), 'unnamed_event');
  t.equal(eventCategoryOf('purchase'), 'transaction');
  t.equal(eventCategoryOf('signup'), 'lifecycle');
  t.equal(eventCategoryOf('page_view'), 'engagement');
});

t.test('clock skew is corrected with sentAt and receivedAt', async (t) => {
  // The client clock runs 1 h fast: it says the event happened at 11:00 and was sent at 11:00:05;
  // we received it at 10:00:05, so it happened at 10:00.
  const ts = Date.UTC(2026, 10, 20, 11, 0, 0);
  const sent = Date.UTC(2026, 10, 20, 11, 0, 5);
  const received = Date.UTC(2026, 10, 20, 10, 0, 5);
  t.equal(correctedTime(ts, sent, received), Date.UTC(2026, 10, 20, 10, 0, 0));
  t.equal(correctedTime(ts, null, received), ts, 'without sentAt the timestamp stands');
  t.match(checkTime(received + 25 * 3600_000, received, limits), { ok: false, reason: 'future-timestamp' });
  t.match(checkTime(Date.UTC(1970, 0, 1), received, limits), { ok: false, reason: 'impossible-value' });
  t.match(
    checkTime(received - 400 * 24 * 3600_000, received, limits),
    { ok: true },
    'old events are history, not poison',
  );
});

t.test('a full event maps onto every column', async (t) => {
  const r = mapEventRow(
    eventRecord(
      {
        type: 'TRACK',
        event: 'Order Completed',
        sourceId: 'src-1',
        propertiesJson: '{"total": 19.999, "value": 3}',
        userId: 'u-9',
        anonymousId: 'a-9',
      },
      {
        ip: '203.0.113.7',
        userAgent:
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
        sessionId: 's-1',
        page: {
          path: '/c',
          referrer: 'https://ref.example/',
          search: null,
          title: 'Checkout',
          url: 'https://shop.example/c?utm_source=fb&utm_medium=cpc&utm_campaign=bf',
        },
        campaign: { name: null, source: 'news', medium: null, term: 'shoes', content: null },
        screen: { width: 390, height: 844, density: 3 },
        location: { country: 'FR', region: null, city: 'Lyon', latitude: null, longitude: null },
      },
    ),
    limits,
  );
  t.ok(r.ok);
  if (!r.ok) return;
  t.match(r.value.row, {
    externalId: 'u-9',
    identityType: 'user_id',
    sourceKey: 'src-1',
    eventType: 'purchase',
    eventCategory: 'transaction',
    eventName: 'Order Completed',
    eventValue: '20.00',
    sessionId: 's-1',
    pageTitle: 'Checkout',
    referrerUrl: 'https://ref.example/',
    ipAddress: '203.0.113.7',
    deviceType: 'mobile',
    browser: 'Mobile Safari',
    os: 'iOS',
    screenResolution: '390x844',
    country: 'FR',
    city: 'Lyon',
    utmSource: 'news',
    utmMedium: 'cpc',
    utmCampaign: 'bf',
    utmTerm: 'shoes',
    utmContent: null,
    dataSource: 'api',
  });
});

t.test('event_value: revenue, else total, else value', async (t) => {
  const v = (p: object) => {
    const r = mapEventRow(eventRecord({ propertiesJson: JSON.stringify(p) }), limits);
    return r.ok ? r.value.row.eventValue : r.reason;
  };
  t.equal(v({ revenue: 5, total: 6, value: 7 }), '5.00');
  t.equal(v({ total: '6.5', value: 7 }), '6.50');
  t.equal(v({ value: 7 }), '7.00');
  t.equal(v({}), null);
  t.equal(v({ revenue: 1e12 }), 'impossible-value');
});

t.test('poison and hostile records', async (t) => {
  t.match(mapEventRow(eventRecord({ userId: null, anonymousId: null }), limits), {
    ok: false,
    reason: 'schema-invalid',
  });
  t.match(mapEventRow(eventRecord({ propertiesJson: 'not json' }), limits), {
    ok: false,
    reason: 'schema-invalid',
  });
  t.match(mapEventRow(eventRecord({ propertiesJson: '[1]' }), limits), {
    ok: false,
    reason: 'schema-invalid',
  });
  t.match(mapEventRow(eventRecord({ userId: 'x'.repeat(101) }), limits), {
    ok: false,
    reason: 'impossible-value',
  });
  t.match(mapEventRow(eventRecord({ timestamp: Date.now() + 30 * 24 * 3600_000 }), limits), {
    ok: false,
    reason: 'future-timestamp',
  });
  const hostile = mapEventRow(
    eventRecord(
      { event: 'a\u0000b'.repeat(100), propertiesJson: '{"x":"\\u0000y"}' },
      {
        ip: 'not-an-ip',
        page: { path: null, referrer: null, search: null, title: 't'.repeat(900), url: null },
      },
    ),
    limits,
  );
  t.ok(hostile.ok);
  if (!hostile.ok) return;
  t.notOk(hostile.value.row.eventName.includes('\u0000'));
  t.equal(hostile.value.row.eventName.length, 200);
  t.notMatch(hostile.value.row.eventProperties, /\\u0000/);
  t.equal(hostile.value.row.ipAddress, null, 'a junk IP is dropped, not the event');
  t.equal(hostile.value.row.pageTitle!.length, 500);
});

t.test('anonymous events and Kafka-direct records', async (t) => {
  const r = mapEventRow(
    eventRecord({ userId: null, anonymousId: 'anon-1', type: 'PAGE', event: null, name: 'Home' }),
    limits,
  );
  t.match(r, {
    ok: true,
    value: {
      row: {
        externalId: 'anon-1',
        identityType: 'anonymous_id',
        eventType: 'page_view',
        eventName: 'Home',
        sourceKey: 'kafka',
        dataSource: 'kafka',
      },
    },
  });
});

t.test('user agents', async (t) => {
  t.match(
    parseUserAgent(
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    ),
    {
      deviceType: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
    },
  );
  t.same(parseUserAgent(null), { deviceType: null, browser: null, os: null });
  t.same(utmFromUrl('https://x/?utm_source=a&utm_content=b'), { source: 'a', content: 'b' });
  t.same(utmFromUrl('::not a url utm_'), {});
});

t.test('COPY text format escapes what it must', async (t) => {
  t.equal(copyText(null), '\\N');
  t.equal(copyText('plain'), 'plain');
  t.equal(copyText('a\tb\nc\\d\re'), 'a\\tb\\nc\\\\d\\re');
  const r = mapEventRow(eventRecord({ event: 'tab\there' }), limits);
  if (!r.ok) return t.fail('mapped');
  const line = copyLine(r.value.row, '00000000-0000-4000-8000-000000000000');
  t.ok(line.endsWith('\n'));
  t.equal(line.slice(0, -1).split('\t').length, COPY_COLUMNS.length);
});

t.test('names that are Object.prototype members, empty names, times outside the Date range', async (t) => {
  for (const event of ['constructor', '__proto__', 'toString', 'hasOwnProperty', ' valueOf ']) {
    const r = mapEventRow(eventRecord({ event }), limits);
    t.ok(r.ok, event);
    if (r.ok) t.equal(typeof r.value.row.eventType, 'string', `${event}: a string event_type`);
  }
  const page = mapEventRow(eventRecord({ type: 'PAGE', event: null, name: '' }), limits);
  t.match(page, { ok: true, value: { row: { eventName: 'Page Viewed' } } }, 'an empty page name is no name');
  const now = Date.now();
  for (const [timestamp, receivedAt] of [
    [8.64e15 + 1, now],
    [-8.64e15 - 1, now],
    [now + 1e12, 8e15],
  ] as const) {
    const r = mapEventRow(eventRecord({ timestamp, receivedAt, sentAt: null }), limits);
    t.match(r, { ok: false, reason: /future-timestamp|impossible-value/ }, `${timestamp} @ ${receivedAt}`);
  }
  // A receivedAt outside the Date range is not stored; the event's own time is what counts.
  t.ok(mapEventRow(eventRecord({ timestamp: now, receivedAt: 8.64e15 + 1, sentAt: null }), limits).ok);
  // A backend whose clock says the year 200000: its own receivedAt cannot carry the event there.
  const far = Date.UTC(200000, 0, 1);
  t.match(mapEventRow(eventRecord({ timestamp: far, receivedAt: far, sentAt: null }), limits), {
    ok: false,
    reason: 'future-timestamp',
  });
});
