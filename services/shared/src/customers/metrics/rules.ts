/**
 * The rules of the customer metrics that depend on the clock or on more than one fact: pure
 * functions of facts read from the database and of `asOf`, the moment they are computed for.
 * Every date here is a UTC calendar day (a customer's own timezone column is not used), and
 * "days since" counts calendar days, as the seed's `CURRENT_DATE - last_seen_at::date` does.
 * The README's "Customer metrics" section states these rules in words; keep the two together.
 */

export const DAY_MS = 86_400_000;

/** No activity for more than this many days: at risk. */
export const AT_RISK_AFTER_DAYS = 30;
/** No activity for more than this many days: churned. */
export const CHURNED_AFTER_DAYS = 90;
/** A churned customer who comes back is `reactivated` for this many days. */
export const REACTIVATED_FOR_DAYS = 30;
/** An activated customer with at least this engagement score is `engaged`. */
export const ENGAGED_MIN_SCORE = 60;
/** The seed's engagement score counts the events after midnight this many days ago. */
export const RECENT_EVENT_DAYS = 30;
/** The score gives nothing more for events past this many, so counting may stop there. */
export const RECENT_EVENTS_CAP = 50;

export type LifecycleStage = 'new' | 'activated' | 'engaged' | 'at_risk' | 'churned' | 'reactivated';

/** The UTC day number of a time in ms (days since 1970-01-01). */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** Events strictly after this time count as recent at `asOfMs` (the seed's CURRENT_DATE - 30 days). */
export const recentEventsAfterMs = (asOfMs: number): number => (dayOf(asOfMs) - RECENT_EVENT_DAYS) * DAY_MS;

export interface ClockFacts {
  asOfMs: number;
  /** last_seen_at: the latest event or order; null when the customer has neither. */
  lastSeenMs: number | null;
  /** Events after recentEventsAfterMs(asOfMs), counted up to RECENT_EVENTS_CAP. */
  recentEvents: number;
  /** total_orders: delivered orders. */
  deliveredOrders: number;
  /** The latest ordered_at over all the customer's orders. */
  lastOrderMs: number | null;
  /** The earliest ordered_at of an order that is confirmed, shipped or delivered. */
  firstCommittedOrderMs: number | null;
  /** reactivated_at (a fact of the activity days, see reactivationDay). */
  reactivatedMs: number | null;
  /** date_of_birth as YYYY-MM-DD. */
  dateOfBirth: string | null;
}

export interface ClockMetrics {
  days_since_last_order: number | null;
  engagement_score: number;
  churn_risk_score: number;
  lifecycle_stage: LifecycleStage;
  activated_at: number | null;
  churned_at: number | null;
  age_group: string | null;
}

export function clockMetrics(f: ClockFacts): ClockMetrics {
  const engagement = engagementScore(f);
  return {
    days_since_last_order: f.lastOrderMs === null ? null : Math.max(0, daysSince(f.asOfMs, f.lastOrderMs)),
    engagement_score: engagement,
    churn_risk_score: churnRiskScore(f),
    lifecycle_stage: lifecycleStage(f, engagement),
    activated_at: f.firstCommittedOrderMs,
    churned_at: churnedAt(f),
    age_group: f.dateOfBirth === null ? null : ageGroupOf(ageAt(f.dateOfBirth, f.asOfMs)),
  };
}

const daysSince = (asOfMs: number, ms: number): number => dayOf(asOfMs) - dayOf(ms);

/**
 * The seed's calculate_engagement_score: recency of last_seen_at (40), events in the last 30
 * days (30), delivered orders (30). A customer never seen gets no recency points.
 */
export function engagementScore(
  f: Pick<ClockFacts, 'asOfMs' | 'lastSeenMs' | 'recentEvents' | 'deliveredOrders'>,
): number {
  let score = 0;
  if (f.lastSeenMs !== null) {
    const d = daysSince(f.asOfMs, f.lastSeenMs);
    if (d <= 1) score += 40;
    else if (d <= 7) score += 30;
    else if (d <= 30) score += 20;
    else if (d <= 90) score += 10;
  }
  const e = f.recentEvents;
  if (e >= 50) score += 30;
  else if (e >= 20) score += 20;
  else if (e >= 5) score += 10;
  else if (e >= 1) score += 5;
  const o = f.deliveredOrders;
  if (o >= 5) score += 30;
  else if (o >= 2) score += 20;
  else if (o >= 1) score += 10;
  return Math.min(score, 100);
}

/**
 * 0-100, higher is likelier to leave. Mostly recency: 10 within a week, 25 within 30 days, 50
 * within 60, 70 within 90, 90 after that; 50 for a customer never seen (nothing to judge by).
 * Loyal buyers are steadier (-5 from 2 delivered orders, -10 from 5); a buyer whose last order
 * is more than 180 days old is less so (+10).
 */
export function churnRiskScore(f: ClockFacts): number {
  if (f.lastSeenMs === null) return 50;
  const d = daysSince(f.asOfMs, f.lastSeenMs);
  let score = d <= 7 ? 10 : d <= 30 ? 25 : d <= 60 ? 50 : d <= 90 ? 70 : 90;
  if (f.deliveredOrders >= 5) score -= 10;
  else if (f.deliveredOrders >= 2) score -= 5;
  if (f.lastOrderMs !== null && daysSince(f.asOfMs, f.lastOrderMs) > 180) score += 10;
  return Math.max(0, Math.min(100, score));
}

/**
 * new -> activated -> engaged -> at_risk -> churned -> reactivated, judged in this order:
 * 1. never seen (no event, no order): new;
 * 2. no activity for more than 90 days: churned;
 * 3. no activity for more than 30 days: at_risk;
 * 4. back within the last 30 days after a gap of more than 90 days: reactivated;
 * 5. activated (a confirmed, shipped or delivered order) with engagement >= 60: engaged;
 * 6. activated: activated;
 * 7. otherwise (seen, never bought): new.
 */
export function lifecycleStage(f: ClockFacts, engagement: number): LifecycleStage {
  if (f.lastSeenMs === null) return 'new';
  const idle = daysSince(f.asOfMs, f.lastSeenMs);
  if (idle > CHURNED_AFTER_DAYS) return 'churned';
  if (idle > AT_RISK_AFTER_DAYS) return 'at_risk';
  if (f.reactivatedMs !== null && daysSince(f.asOfMs, f.reactivatedMs) <= REACTIVATED_FOR_DAYS) {
    return 'reactivated';
  }
  if (f.firstCommittedOrderMs === null) return 'new';
  return engagement >= ENGAGED_MIN_SCORE ? 'engaged' : 'activated';
}

/** While churned: 00:00 UTC of the day the customer became so (the 91st day without activity). */
export function churnedAt(f: Pick<ClockFacts, 'asOfMs' | 'lastSeenMs'>): number | null {
  if (f.lastSeenMs === null || daysSince(f.asOfMs, f.lastSeenMs) <= CHURNED_AFTER_DAYS) return null;
  return (dayOf(f.lastSeenMs) + CHURNED_AFTER_DAYS + 1) * DAY_MS;
}

/**
 * reactivated_at from the customer's activity days (UTC day numbers, ascending, distinct): 00:00
 * UTC of the first day after the latest gap of more than 90 days, or null when there is none.
 * Clock-free: it changes only when a day is added.
 */
export function reactivationDay(days: readonly number[]): number | null {
  for (let i = days.length - 1; i > 0; i--) {
    if (days[i]! - days[i - 1]! > CHURNED_AFTER_DAYS) return days[i]! * DAY_MS;
  }
  return null;
}

/** Whole years from a YYYY-MM-DD birth date to the UTC date of `atMs`. */
export function ageAt(dateOfBirth: string, atMs: number): number {
  const [year, month, day] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const at = new Date(atMs);
  const [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate()];
  const beforeBirthday = m < month || (m === month && d < day);
  return y - year - (beforeBirthday ? 1 : 0);
}

/** The seed's age bands ('18-24', '25-34', ...), with one band on each side. */
export function ageGroupOf(age: number): string | null {
  if (!Number.isFinite(age) || age < 0 || age > 130) return null;
  if (age < 18) return 'under-18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}
