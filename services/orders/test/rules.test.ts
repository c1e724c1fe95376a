/** Unit tests of the promotion rules, one by one. */
import t from 'tap';
import {
  redemptionAmounts,
  validationErrors,
  type Promotion,
  type RedemptionFacts,
} from '../src/promotions/rules.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 10);

const promo = (p: Partial<Promotion> = {}): Promotion => ({
  id: 'p',
  code: 'C',
  discountType: 'percentage',
  discountValue: 0.1,
  maxDiscountCents: null,
  minOrderCents: null,
  usageLimitTotal: null,
  usageLimitPerCustomer: null,
  validFrom: NOW - DAY,
  validUntil: NOW + DAY,
  firstTimeCustomersOnly: false,
  isActive: true,
  ...p,
});

const facts = (f: Partial<RedemptionFacts> = {}): RedemptionFacts => ({
  orderedAt: NOW,
  amounts: { discountCents: 1000, originalCents: 11_000, finalCents: 10_000 },
  isFirstOrder: true,
  usedTotal: 0,
  usedByCustomer: 0,
  ...f,
});

t.test('a redemption breaking no rule has no errors', async (t) => {
  t.same(validationErrors(promo(), facts()), []);
  t.same(
    validationErrors(
      promo({ usageLimitTotal: 3, usageLimitPerCustomer: 1, minOrderCents: 11_000 }),
      facts({ usedTotal: 2 }),
    ),
    [],
    'limits and minimum are inclusive of what they allow',
  );
});

t.test('each rule', async (t) => {
  t.same(validationErrors(promo({ isActive: false }), facts()), ['inactive']);
  t.same(validationErrors(promo({ validFrom: NOW + 1 }), facts()), ['not-yet-valid']);
  t.same(validationErrors(promo({ validUntil: NOW - 1 }), facts()), ['expired']);
  t.same(validationErrors(promo({ usageLimitTotal: 5 }), facts({ usedTotal: 5 })), ['total-limit-reached']);
  t.same(validationErrors(promo({ usageLimitPerCustomer: 1 }), facts({ usedByCustomer: 1 })), [
    'customer-limit-reached',
  ]);
  t.same(validationErrors(promo({ minOrderCents: 11_001 }), facts()), ['below-min-order-value']);
  t.same(validationErrors(promo({ firstTimeCustomersOnly: true }), facts({ isFirstOrder: false })), [
    'not-first-order',
  ]);
  t.same(
    validationErrors(
      promo(),
      facts({ amounts: { discountCents: 0, originalCents: 1e10 + 1, finalCents: 1e10 + 1 } }),
    ),
    ['amount-out-of-range'],
  );
});

t.test('several broken rules are all listed, in a fixed order', async (t) => {
  t.same(
    validationErrors(
      promo({ isActive: false, validUntil: NOW - 1, firstTimeCustomersOnly: true }),
      facts({ isFirstOrder: false }),
    ),
    ['inactive', 'expired', 'not-first-order'],
  );
});

t.test('amounts: the order says the discount, else the promotion grants it', async (t) => {
  const order = { totalCents: 9_000, subtotalCents: 10_000, shippingCents: 500, discountCents: null };
  t.same(redemptionAmounts(promo(), { ...order, discountCents: 123 }), {
    discountCents: 123,
    originalCents: 9_123,
    finalCents: 9_000,
  });
  t.equal(
    redemptionAmounts(promo({ discountValue: 0.15 }), order).discountCents,
    1_500,
    'percentage of the subtotal',
  );
  t.equal(
    redemptionAmounts(promo({ discountValue: 0.15, maxDiscountCents: 1_000 }), order).discountCents,
    1_000,
    'capped at max_discount_amount',
  );
  t.equal(
    redemptionAmounts(promo({ discountType: 'fixed_amount', discountValue: 25 }), order).discountCents,
    2_500,
  );
  t.equal(
    redemptionAmounts(promo({ discountType: 'fixed_amount', discountValue: 500 }), order).discountCents,
    10_000,
    'never more than the subtotal',
  );
  t.equal(redemptionAmounts(promo({ discountType: 'free_shipping' }), order).discountCents, 500);
  t.equal(redemptionAmounts(promo({ discountType: 'buy_x_get_y' }), order).discountCents, 0);
});
