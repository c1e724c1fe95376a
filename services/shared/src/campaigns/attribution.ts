/**
 * Which send an order converts. An order that names its campaign (customer_orders.campaign_id)
 * converts that customer's send of the campaign; one that names none converts the send of the
 * customer's latest click in the attribution window before it. The choice is a function of the
 * order, the customer's sends and clicks as they are now, so deciding again after a late click, a
 * refund or a merge gives the answer the final data implies, whatever arrived first.
 */
import { isSent } from './send-status.js';

export type AttributionKind = 'campaign_id' | 'last_click' | 'pending' | 'none';

export interface OrderFacts {
  orderId: string;
  customerId: string;
  status: string;
  totalCents: number;
  /** customer_orders.campaign_id: the campaign the order names, if any. */
  campaignId: string | null;
  orderedAt: number;
}

export interface ClickFact {
  campaignId: string;
  variant: string | null;
  at: number;
  /** Breaks ties between clicks at the same millisecond, so the choice is the same every time. */
  messageId: string;
}

export interface SendFact {
  campaignId: string;
  variant: string | null;
  status: string;
}

export interface Decision {
  attribution: AttributionKind;
  campaignId: string | null;
  variant: string | null;
  clickedAt: number | null;
  /** Counted on the send: attributed, and the order neither refunded nor cancelled. */
  counted: boolean;
  valueCents: number;
}

export interface AttributionContext {
  windowMs: number;
  campaignExists(campaignId: string): boolean;
  /** The customer's sends (any campaign). */
  sendsOf(customerId: string): readonly SendFact[];
  /** The customer's clicks (any campaign). */
  clicksOf(customerId: string): readonly ClickFact[];
}

/** Refunded and cancelled orders take their value back out of the send they converted. */
export const isLiveOrder = (status: string): boolean => status !== 'refunded' && status !== 'cancelled';

const NONE = { campaignId: null, variant: null, clickedAt: null } as const;

export function decideAttribution(order: OrderFacts, ctx: AttributionContext): Decision {
  const target = targetOf(order, ctx);
  const counted =
    (target.attribution === 'campaign_id' || target.attribution === 'last_click') &&
    isLiveOrder(order.status);
  return { ...target, counted, valueCents: counted ? order.totalCents : 0 };
}

function targetOf(order: OrderFacts, ctx: AttributionContext): Omit<Decision, 'counted' | 'valueCents'> {
  if (order.campaignId !== null) {
    // A campaign the database does not have converts nothing (customer_orders.campaign_id has no
    // foreign key, so an order may name anything).
    if (!ctx.campaignExists(order.campaignId)) return { attribution: 'none', ...NONE };
    // The send that went out; a customer normally gets one variant, and should a provider report
    // several, the smallest variant name (no variant first) is the one, every time.
    const sent = ctx
      .sendsOf(order.customerId)
      .filter((s) => s.campaignId === order.campaignId && isSent(s.status))
      .sort((a, b) => compareVariants(a.variant, b.variant));
    const send = sent[0];
    if (!send)
      return { attribution: 'pending', campaignId: order.campaignId, variant: null, clickedAt: null };
    return {
      attribution: 'campaign_id',
      campaignId: send.campaignId,
      variant: send.variant,
      clickedAt: null,
    };
  }
  const from = order.orderedAt - ctx.windowMs;
  let best: ClickFact | undefined;
  for (const c of ctx.clicksOf(order.customerId)) {
    if (c.at < from || c.at > order.orderedAt) continue;
    if (!best || c.at > best.at || (c.at === best.at && c.messageId > best.messageId)) best = c;
  }
  if (!best) return { attribution: 'none', ...NONE };
  return {
    attribution: 'last_click',
    campaignId: best.campaignId,
    variant: best.variant,
    clickedAt: best.at,
  };
}

export function compareVariants(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export const sameDecision = (a: Decision, b: Decision): boolean =>
  a.attribution === b.attribution &&
  a.campaignId === b.campaignId &&
  a.variant === b.variant &&
  a.clickedAt === b.clickedAt &&
  a.counted === b.counted &&
  a.valueCents === b.valueCents;
