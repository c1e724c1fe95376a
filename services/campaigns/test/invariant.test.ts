/**
 * Contract invariant 4 as a seeded property: random provider events for a few campaigns (one A/B),
 * customers and orders, shuffled, with repeats (the same messageId again, as new Kafka records),
 * through the runtime's applier in random batches; the processor restarted midway, orders
 * interleaved (conversions, refunds); then everything replayed from offset 0. Afterwards the
 * counters and rates equal counting campaign_sends, every send equals the fold of its distinct
 * events, and the replay changed nothing. FUZZ_SEED / FUZZ_RUNS to vary it.
 */
import t from 'tap';
import fc from 'fast-check';
import { readSchemaFile } from '../../shared/src/avro/registry.js';
import { foldSend, type EventSummary } from '../../shared/src/campaigns/fold-send.js';
import { CAMPAIGN_EVENT_TYPES, type CampaignEventType } from '../../shared/src/campaigns/send-status.js';
import { Topics, valueSubject } from '../../shared/src/topics.js';
import { batchOf, harness } from '../../shared/test/processor-harness.js';
import { Registry } from 'prom-client';
import { createCampaignsProcessor } from '../src/processor.js';
import type { CampaignEventRecord } from '../src/mapping/campaign-event.js';
import {
  at,
  campaignEvent,
  codec,
  db,
  invariantViolations,
  limits,
  makeCampaign,
  orderRecord,
  randomName,
  writeOrders,
} from './support.js';

t.teardown(() => db.end());

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 5);

interface Planned {
  send: number; // index into the run's sends
  event: CampaignEventType;
  minute: number;
  reason: string | null;
  value: number | null;
}

const arbPlan = fc.record({
  events: fc.array(
    fc.record({
      send: fc.nat({ max: 7 }),
      event: fc.constantFrom(...CAMPAIGN_EVENT_TYPES),
      minute: fc.integer({ min: 0, max: 600 }),
      reason: fc.option(fc.constantFrom('full', 'no such user', 'spam'), { nil: null }),
      value: fc.option(fc.integer({ min: 1, max: 500 }), { nil: null }),
    }),
    { minLength: 5, maxLength: 60 },
  ),
  repeats: fc.array(fc.nat(), { maxLength: 20 }),
  order: fc.array(fc.nat(), { minLength: 100, maxLength: 100 }),
  cuts: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 20, maxLength: 20 }),
  orders: fc.array(
    fc.record({
      customer: fc.nat({ max: 3 }),
      named: fc.option(fc.nat({ max: 1 }), { nil: null }),
      minute: fc.integer({ min: 0, max: 900 }),
      total: fc.integer({ min: 1, max: 300 }),
      refundAt: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
    }),
    { maxLength: 6 },
  ),
  restartAt: fc.integer({ min: 1, max: 4 }),
});

t.test(
  'invariant 4 after shuffled, repeated events, restarts and a replay from 0',
  { timeout: 170_000 },
  async (t) => {
    const schema = await codec.register(
      valueSubject(Topics.campaignEvents),
      await readSchemaFile('campaign-event.avsc'),
    );
    await fc.assert(
      fc.asyncProperty(arbPlan, async (plan) => {
        const campaigns = [await makeCampaign({ budget: 100, ab: true }), await makeCampaign()];
        const users = Array.from({ length: 4 }, () => randomName('user'));
        // Eight sends: each customer gets campaign 0 in variant A or B, and campaign 1.
        const sends = users.flatMap((u, i) => [
          { campaign: campaigns[0]!, user: u, variant: i % 2 ? 'B' : 'A' },
          { campaign: campaigns[1]!, user: u, variant: null },
        ]);
        const records: CampaignEventRecord[] = plan.events.map((p: Planned) => {
          const s = sends[p.send]!;
          return campaignEvent({
            campaign_id: s.campaign,
            userId: s.user,
            variant: s.variant,
            event: p.event,
            timestamp: at(p.minute),
            reason: p.event === 'bounced' || p.event === 'failed' ? p.reason : null,
            value: p.event === 'converted' ? p.value : null,
          });
        });
        const stream = [...records, ...plan.repeats.map((i) => records[i % records.length]!)];
        const shuffled = stream
          .map((r, i) => ({ r, k: plan.order[i % plan.order.length]! * 1000 + i }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.r);
        const values = await Promise.all(shuffled.map((r) => codec.encode(schema, r)));

        const prefix = `${randomName('test-cinv')}.`;
        const topic = prefix + Topics.campaignEvents;
        const group = randomName('campaigns-inv');
        const start = async () => {
          const definition = createCampaignsProcessor(
            { codec, registry: new Registry(), db },
            {
              groupId: group,
              topicPrefix: prefix,
              maxFutureMs: limits.maxFutureMs,
              campaignCacheTtlMs: 60_000,
              lateAfterMs: 3_600_000,
            },
          );
          return harness(definition, { db, codec, publish: async () => {}, service: 'campaigns' });
        };
        const orderRecords = plan.orders.map((o, i) => ({
          o,
          record: orderRecord({
            order_id: `${prefix}o${i}`,
            userId: users[o.customer]!,
            order_total: o.total,
            ordered_at: at(o.minute),
            timestamp: at(o.minute),
            campaign_id: o.named === null ? null : campaigns[o.named]!,
          }),
        }));

        // Batches of random sizes; orders and their refunds between them; a restart midway.
        let h = await start();
        let offset = 0;
        let batch = 0;
        while (offset < values.length) {
          const n = Math.min(plan.cuts[batch % plan.cuts.length]!, values.length - offset);
          await h.applier.handle(batchOf(topic, values.slice(offset, offset + n), offset));
          offset += n;
          batch++;
          if (batch === plan.restartAt) h = await start();
          for (const { o, record } of orderRecords) {
            if (batch === 1) await writeOrders([record]);
            if (o.refundAt === batch)
              await writeOrders([
                {
                  ...record,
                  messageId: `${record.messageId}-r`,
                  order_status: 'refunded',
                  timestamp: record.timestamp + 1,
                },
              ]);
          }
        }
        if (batch < 1) for (const { record } of orderRecords) await writeOrders([record]);

        t.same(await invariantViolations(db, campaigns), [], 'counters equal counting campaign_sends');
        const expected = expectedSends(records, sends);
        const actual = await sendRows(campaigns);
        t.same(actual, expected, 'every send is the fold of its distinct events');
        const { rows: conv } = await db.query<{ n: number }>(
          'test.conversions',
          'SELECT count(*)::int AS n FROM campaign_conversions WHERE order_id LIKE $1',
          [`${prefix}%`],
        );
        t.equal(conv[0]!.n, orderRecords.length, 'one conversion row per order');

        // Replay from 0: the stored offsets rewound, the processor started again.
        const before = JSON.stringify(await snapshot(campaigns));
        await db.query(
          'test.rewind',
          'UPDATE consumer_offsets SET next_offset = 0 WHERE consumer_group = $1',
          [group],
        );
        h = await start();
        for (let i = 0; i < values.length; i += 25)
          await h.applier.handle(batchOf(topic, values.slice(i, i + 25), i));
        t.equal(JSON.stringify(await snapshot(campaigns)), before, 'the replay changed nothing');
        t.same(await invariantViolations(db, campaigns), []);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  },
);

/** What each send should be: the fold of its distinct events, as the test computes it. */
function expectedSends(
  records: readonly CampaignEventRecord[],
  sends: readonly { campaign: string; user: string; variant: string | null }[],
) {
  const out: Record<string, unknown>[] = [];
  for (const s of sends) {
    const mine = records.filter(
      (r) => r.campaign_id === s.campaign && r.userId === s.user && r.variant === s.variant,
    );
    if (mine.length === 0) continue;
    const summaries: EventSummary[] = [];
    for (const event of CAMPAIGN_EVENT_TYPES) {
      const of = mine
        .filter((r) => r.event === event)
        .sort((a, b) => a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : 1));
      if (of.length === 0) continue;
      const withReason = of.filter((r) => r.reason !== null);
      const latestReason = withReason.sort(
        (a, b) => b.timestamp - a.timestamp || (a.messageId < b.messageId ? 1 : -1),
      )[0];
      summaries.push({
        event,
        first: of[0]!.timestamp,
        last: of[of.length - 1]!.timestamp,
        count: of.length,
        lastReason: latestReason?.reason ?? null,
        firstMessageId: of[0]!.messageId,
        firstSourceName: null,
      });
    }
    const e = foldSend(summaries);
    out.push({
      campaign: s.campaign,
      user: s.user,
      variant: s.variant,
      status: e.status,
      clicks: e.totalClicks,
      sent: e.sentAt,
      delivered: e.deliveredAt,
      opened: e.openedAt,
      first_click: e.firstClickAt,
      last_click: e.lastClickAt,
      unsubscribed: e.unsubscribedAt,
      bounce_reason: e.bounceReason,
      attempts: e.deliveryAttempt,
    });
  }
  return out.sort(byKey);
}

const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => {
  const k = (x: Record<string, unknown>) => `${x.campaign}/${x.user}/${x.variant}`;
  return k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
};

async function sendRows(campaigns: readonly string[]) {
  const ms = (c: string) => `floor(extract(epoch FROM s.${c}) * 1000)::bigint`;
  const { rows } = await db.query<Record<string, unknown>>(
    'test.sends',
    `SELECT s.campaign_id AS campaign, c.customer_id AS user, s.variant, s.send_status AS status, s.total_clicks AS clicks,
            ${ms('sent_at')} AS sent, ${ms('delivered_at')} AS delivered, ${ms('opened_at')} AS opened,
            ${ms('first_click_at')} AS first_click, ${ms('last_click_at')} AS last_click,
            ${ms('unsubscribed_at')} AS unsubscribed, s.bounce_reason, s.delivery_attempt AS attempts
     FROM campaign_sends s JOIN customers c ON c.id = s.customer_id WHERE s.campaign_id = ANY($1::uuid[])`,
    [campaigns],
  );
  return rows
    .map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]),
      ),
    )
    .sort(byKey);
}

async function snapshot(campaigns: readonly string[]) {
  const { rows } = await db.query(
    'test.snapshot',
    `SELECT (SELECT json_agg(s ORDER BY s.id) FROM campaign_sends s WHERE s.campaign_id = ANY($1::uuid[])) AS sends,
            (SELECT json_agg(c ORDER BY c.id) FROM (SELECT id, total_sent, total_delivered, total_bounced, total_opened,
               total_clicked, total_unsubscribed, total_converted, total_revenue_attributed, delivery_rate, open_rate,
               click_rate, conversion_rate, roi FROM campaigns WHERE id = ANY($1::uuid[])) c) AS campaigns,
            (SELECT json_agg(v ORDER BY v.campaign_id, v.variant) FROM (SELECT campaign_id, variant, total_sent,
               total_converted, total_revenue_attributed FROM campaign_variant_performance WHERE campaign_id = ANY($1::uuid[])) v) AS variants`,
    [campaigns],
  );
  return rows[0];
}
