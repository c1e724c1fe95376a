/**
 * What one campaign_sends row counts for in its campaign's counters: the same rule as the view
 * campaign_send_counts (sql/migrations/0020_campaigns.sql), for one row, so counters can be kept by
 * adding the difference a write makes (after minus before) instead of counting the campaign again.
 */
import { isSent } from './send-status.js';

/** The columns of a send that its contribution depends on. */
export interface CountedSend {
  status: string;
  opened: boolean;
  totalClicks: number;
  unsubscribed: boolean;
  converted: boolean;
  conversionCents: number;
}

export interface Counts {
  sent: number;
  delivered: number;
  bounced: number;
  opened: number;
  clicked: number;
  unsubscribed: number;
  converted: number;
  revenueCents: number;
}

export const COUNT_NAMES = [
  'sent',
  'delivered',
  'bounced',
  'opened',
  'clicked',
  'unsubscribed',
  'converted',
  'revenueCents',
] as const satisfies readonly (keyof Counts)[];

export const zeroCounts = (): Counts => ({
  sent: 0,
  delivered: 0,
  bounced: 0,
  opened: 0,
  clicked: 0,
  unsubscribed: 0,
  converted: 0,
  revenueCents: 0,
});

const flag = (b: boolean): number => (b ? 1 : 0);

export function contributionOf(s: CountedSend): Counts {
  return {
    sent: flag(isSent(s.status)),
    delivered: flag(s.status === 'delivered'),
    bounced: flag(s.status === 'bounced'),
    opened: flag(s.opened),
    clicked: flag(s.totalClicks > 0),
    unsubscribed: flag(s.unsubscribed),
    converted: flag(s.converted),
    revenueCents: s.converted ? s.conversionCents : 0,
  };
}

/** `into` += sign * `c`, in place. */
export function addCounts(into: Counts, c: Counts, sign: 1 | -1 = 1): Counts {
  for (const k of COUNT_NAMES) into[k] += sign * c[k];
  return into;
}

export const isZero = (c: Counts): boolean => COUNT_NAMES.every((k) => c[k] === 0);

/** A stored rate of counts: the fraction with four decimals, halves up, 0 without a denominator. */
export function rate(numerator: number, denominator: number): number {
  if (denominator <= 0) return 0;
  // Integer arithmetic, so halves round up exactly as PostgreSQL's round(numeric) does.
  const tenThousandths = Math.floor((2 * numerator * 10_000 + denominator) / (2 * denominator));
  return Math.min(tenThousandths, 99_999) / 10_000;
}

/** roi = (revenue - budget) / budget, four decimals; 0 without a budget. */
export function roi(revenueCents: number, budgetCents: number | null): number {
  if (budgetCents === null || budgetCents <= 0) return 0;
  return Math.round(((revenueCents - budgetCents) / budgetCents) * 10_000) / 10_000;
}

export interface Rates {
  delivery: number;
  open: number;
  click: number;
  conversion: number;
}

/** delivery = delivered/sent, open = opened/delivered, click = clicked/delivered, conversion = converted/sent. */
export function ratesOf(c: Counts): Rates {
  return {
    delivery: rate(c.delivered, c.sent),
    open: rate(c.opened, c.delivered),
    click: rate(c.clicked, c.delivered),
    conversion: rate(c.converted, c.sent),
  };
}
