/**
 * The promotion rules, as pure functions: what a redemption is worth and which of the promotion's
 * rules it breaks. A broken rule does not drop the redemption: it is recorded with was_valid =
 * false and the rules it broke in validation_errors, and counts toward no counter.
 */
import { MONEY_10_2 } from '../mapping/fields.js';

/** The promotions columns the rules read (money in cents, times in ms). */
export interface Promotion {
  id: string;
  code: string;
  discountType: string;
  discountValue: number | null;
  maxDiscountCents: number | null;
  minOrderCents: number | null;
  usageLimitTotal: number | null;
  usageLimitPerCustomer: number | null;
  validFrom: number;
  validUntil: number;
  firstTimeCustomersOnly: boolean;
  isActive: boolean;
}

/** The order's amounts, in cents; discount null when the order did not say. */
export interface OrderAmounts {
  totalCents: number;
  subtotalCents: number;
  shippingCents: number;
  discountCents: number | null;
}

export interface RedemptionAmounts {
  discountCents: number;
  originalCents: number;
  finalCents: number;
}

const MAX_CENTS = Math.round(MONEY_10_2 * 100);

/**
 * The discount is the order's own discount_amount when it gave one (the shop knows what it took
 * off), else what the promotion grants: a percentage (discount_value 0.15 = 15%) of the subtotal
 * capped at max_discount_amount, a fixed amount up to the subtotal, or the shipping for
 * free_shipping (0 for the kinds that depend on the cart's lines). final_order_value is the
 * order_total, original_order_value the total before the discount.
 */
export function redemptionAmounts(p: Promotion, o: OrderAmounts): RedemptionAmounts {
  const discountCents = o.discountCents ?? grantedCents(p, o);
  return { discountCents, originalCents: o.totalCents + discountCents, finalCents: o.totalCents };
}

function grantedCents(p: Promotion, o: OrderAmounts): number {
  const value = p.discountValue ?? 0;
  switch (p.discountType) {
    case 'percentage': {
      const pct = Math.round(o.subtotalCents * value);
      return p.maxDiscountCents === null ? pct : Math.min(pct, p.maxDiscountCents);
    }
    case 'fixed_amount':
      return Math.max(0, Math.min(Math.round(value * 100), o.subtotalCents));
    case 'free_shipping':
      return o.shippingCents;
    default:
      return 0;
  }
}

/** What the rules compare a redemption with, besides the promotion itself. */
export interface RedemptionFacts {
  /** The order's ordered_at: the time of the redemption, whenever the record arrives. */
  orderedAt: number;
  amounts: RedemptionAmounts;
  /** Whether the order is the customer's earliest (is_first_order). */
  isFirstOrder: boolean;
  /** Valid redemptions of this promotion by other orders: all customers, and this customer. */
  usedTotal: number;
  usedByCustomer: number;
}

/** The codes written to validation_errors, in this order. */
export const VALIDATION_ERRORS = [
  'inactive',
  'not-yet-valid',
  'expired',
  'total-limit-reached',
  'customer-limit-reached',
  'below-min-order-value',
  'not-first-order',
  'amount-out-of-range',
] as const;
export type ValidationError = (typeof VALIDATION_ERRORS)[number];

export function validationErrors(p: Promotion, f: RedemptionFacts): ValidationError[] {
  const errors: ValidationError[] = [];
  if (!p.isActive) errors.push('inactive');
  if (f.orderedAt < p.validFrom) errors.push('not-yet-valid');
  if (f.orderedAt > p.validUntil) errors.push('expired');
  if (p.usageLimitTotal !== null && f.usedTotal >= p.usageLimitTotal) errors.push('total-limit-reached');
  if (p.usageLimitPerCustomer !== null && f.usedByCustomer >= p.usageLimitPerCustomer)
    errors.push('customer-limit-reached');
  if (p.minOrderCents !== null && f.amounts.originalCents < p.minOrderCents)
    errors.push('below-min-order-value');
  if (p.firstTimeCustomersOnly && !f.isFirstOrder) errors.push('not-first-order');
  if (!fitsColumns(f.amounts)) errors.push('amount-out-of-range');
  return errors;
}

/** promotion_redemptions keeps amounts in DECIMAL(10,2), narrower than the order's DECIMAL(12,2). */
export const fitsColumns = (a: RedemptionAmounts): boolean =>
  [a.discountCents, a.originalCents, a.finalCents].every((c) => Math.abs(c) <= MAX_CENTS);

/** Amounts clamped into DECIMAL(10,2), for a redemption recorded as invalid because they did not fit. */
export const clampedAmounts = (a: RedemptionAmounts): RedemptionAmounts => {
  const clamp = (c: number) => Math.max(-MAX_CENTS, Math.min(MAX_CENTS, c));
  return {
    discountCents: clamp(a.discountCents),
    originalCents: clamp(a.originalCents),
    finalCents: clamp(a.finalCents),
  };
};
