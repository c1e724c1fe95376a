import t from 'tap';
import {
  ageAt,
  ageGroupOf,
  churnedAt,
  churnRiskScore,
  clockMetrics,
  DAY_MS,
  engagementScore,
  lifecycleStage,
  reactivationDay,
  recentEventsAfterMs,
  type ClockFacts,
} from '../src/customers/metrics/rules.js';
import { seenRange } from '../src/customers/metrics/incremental.js';

const asOf = Date.UTC(2026, 11, 1, 15, 30); // 2026-12-01 15:30 UTC
const daysAgo = (d: number, hour = 12) => Date.UTC(2026, 11, 1 - d, hour);
const facts = (over: Partial<ClockFacts> = {}): ClockFacts => ({
  asOfMs: asOf,
  lastSeenMs: daysAgo(0),
  recentEvents: 0,
  deliveredOrders: 0,
  lastOrderMs: null,
  firstCommittedOrderMs: null,
  reactivatedMs: null,
  dateOfBirth: null,
  ...over,
});

t.test('engagement score: the seed function, point by point', async (t) => {
  t.equal(engagementScore(facts({ lastSeenMs: null })), 0, 'never seen: nothing');
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(1, 0) })), 40, 'yesterday (calendar days) is recent');
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(2) })), 30);
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(7) })), 30);
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(8) })), 20);
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(30) })), 20);
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(90) })), 10);
  t.equal(engagementScore(facts({ lastSeenMs: daysAgo(91) })), 0);
  const freq = [0, 1, 4, 5, 19, 20, 49, 50].map((e) =>
    engagementScore(facts({ lastSeenMs: null, recentEvents: e })),
  );
  t.same(freq, [0, 5, 5, 10, 10, 20, 20, 30]);
  const orders = [0, 1, 2, 4, 5].map((o) => engagementScore(facts({ lastSeenMs: null, deliveredOrders: o })));
  t.same(orders, [0, 10, 20, 20, 30]);
  t.equal(engagementScore(facts({ recentEvents: 80, deliveredOrders: 9 })), 100, 'capped at 100');
});

t.test('recent events: after midnight UTC 30 days before, as CURRENT_DATE - 30 days', async (t) => {
  t.equal(new Date(recentEventsAfterMs(asOf)).toISOString(), '2026-11-01T00:00:00.000Z');
});

t.test('churn risk: recency first, loyal buyers steadier, a stale last order riskier', async (t) => {
  t.equal(churnRiskScore(facts({ lastSeenMs: null })), 50);
  t.same(
    [0, 7, 8, 30, 31, 60, 61, 90, 91].map((d) => churnRiskScore(facts({ lastSeenMs: daysAgo(d) }))),
    [10, 10, 25, 25, 50, 50, 70, 70, 90],
  );
  t.equal(churnRiskScore(facts({ deliveredOrders: 2 })), 5);
  t.equal(churnRiskScore(facts({ deliveredOrders: 5 })), 0, 'never below 0');
  t.equal(churnRiskScore(facts({ lastSeenMs: daysAgo(100), lastOrderMs: daysAgo(181) })), 100);
  t.equal(churnRiskScore(facts({ lastOrderMs: daysAgo(180) })), 10, '180 days is not yet stale');
});

t.test('lifecycle stages, judged in their order', async (t) => {
  const stage = (over: Partial<ClockFacts>) => {
    const f = facts(over);
    return lifecycleStage(f, engagementScore(f));
  };
  t.equal(stage({ lastSeenMs: null }), 'new', 'never seen');
  t.equal(stage({}), 'new', 'seen, never bought');
  t.equal(stage({ firstCommittedOrderMs: daysAgo(3) }), 'activated');
  t.equal(
    stage({ firstCommittedOrderMs: daysAgo(3), recentEvents: 20 }),
    'engaged',
    '40 recency + 20 frequency = 60',
  );
  t.equal(stage({ firstCommittedOrderMs: daysAgo(3), recentEvents: 5 }), 'activated', '50 is not engaged');
  t.equal(stage({ lastSeenMs: daysAgo(31), firstCommittedOrderMs: daysAgo(40) }), 'at_risk');
  t.equal(stage({ lastSeenMs: daysAgo(30) }), 'new', '30 days idle is not yet at risk');
  t.equal(stage({ lastSeenMs: daysAgo(91) }), 'churned');
  t.equal(stage({ lastSeenMs: daysAgo(90) }), 'at_risk');
  t.equal(stage({ reactivatedMs: daysAgo(30, 0) }), 'reactivated', 'back within 30 days');
  t.equal(
    stage({ reactivatedMs: daysAgo(31, 0), firstCommittedOrderMs: daysAgo(40) }),
    'activated',
    'back longer ago',
  );
  t.equal(stage({ lastSeenMs: daysAgo(40), reactivatedMs: daysAgo(45, 0) }), 'at_risk', 'quiet again');
});

t.test('churned_at: the 91st day without activity, only while churned', async (t) => {
  t.equal(churnedAt(facts({ lastSeenMs: daysAgo(90) })), null);
  t.equal(
    new Date(churnedAt(facts({ lastSeenMs: daysAgo(91, 23) }))!).toISOString(),
    '2026-12-01T00:00:00.000Z',
  );
  t.equal(
    new Date(churnedAt(facts({ lastSeenMs: daysAgo(200) }))!).toISOString(),
    '2026-08-14T00:00:00.000Z',
  );
  t.equal(churnedAt(facts({ lastSeenMs: null })), null);
});

t.test('reactivated_at: the first day after the latest gap of more than 90 days', async (t) => {
  t.equal(reactivationDay([]), null);
  t.equal(reactivationDay([100, 150, 240]), null, 'gaps of 50 and 90 days');
  t.equal(reactivationDay([100, 191]), 191 * DAY_MS, 'a gap of 91');
  t.equal(reactivationDay([0, 100, 105, 300, 301]), 300 * DAY_MS, 'the latest gap');
});

t.test('age groups from the date of birth at the as-of date', async (t) => {
  t.equal(ageAt('2000-12-01', asOf), 26, 'the birthday itself counts');
  t.equal(ageAt('2000-12-02', asOf), 25);
  t.equal(ageAt('2004-02-29', Date.UTC(2026, 1, 28)), 21, 'a leap-day birthday waits for March');
  t.same([0, 17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 130, 131, -1].map(ageGroupOf), [
    'under-18',
    'under-18',
    '18-24',
    '18-24',
    '25-34',
    '25-34',
    '35-44',
    '35-44',
    '45-54',
    '45-54',
    '55-64',
    '55-64',
    '65+',
    '65+',
    null,
    null,
  ]);
  t.equal(clockMetrics(facts({ dateOfBirth: '1990-05-17' })).age_group, '35-44');
  t.equal(clockMetrics(facts()).age_group, null);
});

t.test('days since the last order, never negative', async (t) => {
  t.equal(clockMetrics(facts()).days_since_last_order, null);
  t.equal(clockMetrics(facts({ lastOrderMs: daysAgo(12) })).days_since_last_order, 12);
  t.equal(clockMetrics(facts({ lastOrderMs: asOf + 3600_000 * 20 })).days_since_last_order, 0);
});

t.test('first and last seen span events and orders', async (t) => {
  t.equal(seenRange(undefined, { firstOrderMs: null, lastOrderMs: null }), undefined);
  t.same(seenRange({ firstMs: 5, lastMs: 9 }, { firstOrderMs: null, lastOrderMs: null }), [5, 9]);
  t.same(seenRange({ firstMs: 5, lastMs: 9 }, { firstOrderMs: 3, lastOrderMs: 12 }), [3, 12]);
  t.same(seenRange(undefined, { firstOrderMs: 3, lastOrderMs: 4 }), [3, 4]);
});
