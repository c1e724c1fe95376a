/** The pure rules: status order, the fold of a send's events, rates, attribution, combining sends. */
import t from 'tap';
import fc from 'fast-check';
import {
  decideAttribution,
  type AttributionContext,
  type OrderFacts,
} from '../../shared/src/campaigns/attribution.js';
import { combineSends } from '../../shared/src/campaigns/combine-sends.js';
import { contributionOf, rate, ratesOf, roi } from '../../shared/src/campaigns/contribution.js';
import { foldSend, type EventSummary } from '../../shared/src/campaigns/fold-send.js';
import {
  CAMPAIGN_EVENT_TYPES,
  furtherStatus,
  statusProvedBy,
  type CampaignEventType,
  type SendStatus,
} from '../../shared/src/campaigns/send-status.js';

const summary = (
  event: CampaignEventType,
  first: number,
  extra: Partial<EventSummary> = {},
): EventSummary => ({
  event,
  first,
  last: first,
  count: 1,
  lastReason: null,
  firstMessageId: `${event}-${first}`,
  firstSourceName: 'esp',
  ...extra,
});

t.test('a status only moves forward', async (t) => {
  const order: SendStatus[] = ['queued', 'failed', 'sent', 'bounced', 'delivered'];
  for (const [i, a] of order.entries())
    for (const [j, b] of order.entries()) {
      t.equal(furtherStatus(a, b), order[Math.max(i, j)], `${a} vs ${b}`);
      t.equal(furtherStatus(a, b), furtherStatus(b, a), 'commutative');
    }
  t.equal(furtherStatus('failed', 'rejected'), furtherStatus('rejected', 'failed'), 'ties are commutative');
  for (const e of ['opened', 'clicked', 'unsubscribed', 'complained', 'converted'] as const)
    t.equal(statusProvedBy(e), 'delivered', `${e} proves delivery`);
});

t.test('an open before its delivery counts and implies delivery and sending', async (t) => {
  const e = foldSend([summary('opened', 1_000)]);
  t.match(e, { status: 'delivered', sentAt: 1_000, deliveredAt: 1_000, openedAt: 1_000, totalClicks: 0 });
  const later = foldSend([summary('opened', 1_000), summary('delivered', 900), summary('sent', 800)]);
  t.match(later, {
    status: 'delivered',
    sentAt: 800,
    deliveredAt: 900,
    openedAt: 1_000,
    externalMessageId: 'sent-800',
  });
});

t.test('clicks: first, last, count; a click proves the open', async (t) => {
  const e = foldSend([summary('clicked', 500, { last: 900, count: 3 })]);
  t.match(e, { firstClickAt: 500, lastClickAt: 900, totalClicks: 3, openedAt: 500, status: 'delivered' });
});

t.test('bounces and failures keep the latest reason; delivery beats a bounce', async (t) => {
  const bounced = foldSend([
    summary('sent', 1),
    summary('bounced', 2, { last: 5, count: 2, lastReason: 'mailbox full' }),
  ]);
  t.match(bounced, { status: 'bounced', bouncedAt: 5, bounceReason: 'mailbox full', deliveryAttempt: 1 });
  const retried = foldSend([
    summary('failed', 1, { lastReason: 'throttled' }),
    summary('sent', 2, { count: 2 }),
    summary('bounced', 3, { lastReason: 'soft' }),
    summary('delivered', 4),
  ]);
  t.match(retried, {
    status: 'delivered',
    failureReason: 'throttled',
    bounceReason: 'soft',
    deliveryAttempt: 3,
  });
  t.equal(foldSend([summary('failed', 1)]).status, 'failed');
  t.equal(foldSend([summary('failed', 1)]).sentAt, null, 'a failure is not a send');
});

t.test('the fold does not depend on the order of its summaries', async (t) => {
  const arbSummary = fc.record({
    event: fc.constantFrom(...CAMPAIGN_EVENT_TYPES),
    first: fc.integer({ min: 0, max: 1_000 }),
    span: fc.integer({ min: 0, max: 100 }),
    count: fc.integer({ min: 1, max: 5 }),
  });
  fc.assert(
    fc.property(fc.uniqueArray(arbSummary, { selector: (s) => s.event }), fc.integer(), (raw, seed) => {
      const list = raw.map((s) => summary(s.event, s.first, { last: s.first + s.span, count: s.count }));
      const shuffled = [...list].sort((a, b) => ((a.first * 31 + seed) % 7) - ((b.first * 31 + seed) % 7));
      t.same(foldSend(shuffled), foldSend(list));
    }),
    { seed: 12, numRuns: 200 },
  );
});

t.test('what a send counts for, and the rates', async (t) => {
  t.same(
    contributionOf({
      status: 'delivered',
      opened: true,
      totalClicks: 2,
      unsubscribed: false,
      converted: true,
      conversionCents: 1250,
    }),
    {
      sent: 1,
      delivered: 1,
      bounced: 0,
      opened: 1,
      clicked: 1,
      unsubscribed: 0,
      converted: 1,
      revenueCents: 1250,
    },
  );
  t.same(
    contributionOf({
      status: 'failed',
      opened: false,
      totalClicks: 0,
      unsubscribed: false,
      converted: false,
      conversionCents: 99,
    }),
    {
      sent: 0,
      delivered: 0,
      bounced: 0,
      opened: 0,
      clicked: 0,
      unsubscribed: 0,
      converted: 0,
      revenueCents: 0,
    },
  );
  t.equal(rate(1, 3), 0.3333);
  t.equal(rate(2, 3), 0.6667);
  t.equal(rate(1, 8), 0.125);
  t.equal(rate(1, 20_000), 0.0001, 'a half rounds up, as numeric does');
  t.equal(rate(5, 0), 0, 'no denominator');
  t.same(
    ratesOf({
      sent: 4,
      delivered: 3,
      bounced: 1,
      opened: 2,
      clicked: 1,
      unsubscribed: 0,
      converted: 1,
      revenueCents: 0,
    }),
    {
      delivery: 0.75,
      open: 0.6667,
      click: 0.3333,
      conversion: 0.25,
    },
  );
  t.equal(roi(15_000, 10_000), 0.5);
  t.equal(roi(5_000, 10_000), -0.5);
  t.equal(roi(5_000, null), 0, 'no budget');
  t.equal(roi(5_000, 0), 0, 'a zero budget');
});

t.test('attribution: the named campaign, else the latest click in the window', async (t) => {
  const day = 86_400_000;
  const order = (o: Partial<OrderFacts>): OrderFacts => ({
    orderId: 'o1',
    customerId: 'c1',
    status: 'confirmed',
    totalCents: 5_000,
    campaignId: null,
    orderedAt: 10 * day,
    ...o,
  });
  const ctx = (o: Partial<AttributionContext> = {}): AttributionContext => ({
    windowMs: 7 * day,
    campaignExists: (id) => id !== 'gone',
    sendsOf: () => [
      { campaignId: 'k1', variant: 'B', status: 'delivered' },
      { campaignId: 'k1', variant: 'A', status: 'sent' },
      { campaignId: 'k2', variant: null, status: 'failed' },
    ],
    clicksOf: () => [
      { campaignId: 'k1', variant: 'A', at: 2 * day, messageId: 'm1' },
      { campaignId: 'k3', variant: null, at: 5 * day, messageId: 'm2' },
      { campaignId: 'k4', variant: null, at: 9 * day, messageId: 'm3' },
      { campaignId: 'k5', variant: null, at: 11 * day, messageId: 'm4' },
    ],
    ...o,
  });
  t.match(decideAttribution(order({ campaignId: 'k1' }), ctx()), {
    attribution: 'campaign_id',
    campaignId: 'k1',
    variant: 'A',
    counted: true,
    valueCents: 5_000,
  });
  t.match(decideAttribution(order({ campaignId: 'k2' }), ctx()), { attribution: 'pending', counted: false });
  t.match(decideAttribution(order({ campaignId: 'gone' }), ctx()), { attribution: 'none', campaignId: null });
  t.match(decideAttribution(order({}), ctx()), {
    attribution: 'last_click',
    campaignId: 'k4',
    clickedAt: 9 * day,
    counted: true,
  });
  t.match(
    decideAttribution(order({ orderedAt: 19 * day }), ctx()),
    { attribution: 'none' },
    'past the window',
  );
  t.match(decideAttribution(order({ status: 'refunded' }), ctx()), {
    attribution: 'last_click',
    counted: false,
    valueCents: 0,
  });
  t.match(decideAttribution(order({ status: 'cancelled', campaignId: 'k1' }), ctx()), {
    counted: false,
    valueCents: 0,
  });
  t.match(decideAttribution(order({}), ctx({ windowMs: 0 })), { attribution: 'none' }, 'a zero window');
});

t.test('two sends of one person combine whichever is kept', async (t) => {
  const a = {
    id: 'a',
    customer_id: 'k',
    send_status: 'sent',
    sent_at: '2026-01-01T00:00:00.000Z',
    opened_at: null,
    last_click_at: '2026-01-02T00:00:00.000Z',
    total_clicks: 1,
    delivery_attempt: 1,
    bounced_at: null,
    bounce_reason: null,
    conversion_value: null,
  };
  const b = {
    id: 'b',
    customer_id: 'f',
    send_status: 'bounced',
    sent_at: '2025-12-31T00:00:00.000Z',
    opened_at: '2026-01-03T00:00:00.000Z',
    last_click_at: '2026-01-04T00:00:00.000Z',
    total_clicks: 2,
    delivery_attempt: 2,
    bounced_at: '2026-01-01T00:00:00.000Z',
    bounce_reason: 'full',
    conversion_value: '12.50',
  };
  const ab = combineSends(a, b);
  const ba = combineSends(b, a);
  t.match(ab, {
    id: 'a',
    customer_id: 'k',
    send_status: 'bounced',
    sent_at: b.sent_at,
    opened_at: b.opened_at,
    last_click_at: b.last_click_at,
    total_clicks: 3,
    delivery_attempt: 3,
    bounce_reason: 'full',
    conversion_value: 12.5,
  });
  for (const k of ['send_status', 'sent_at', 'opened_at', 'last_click_at', 'total_clicks', 'bounce_reason'])
    t.same(ab[k], ba[k], k);
});
