/**
 * Money as DECIMAL(p,2) stores it. Doubles cannot hold most cents exactly (1.005 is 1.00499…), so
 * values are rounded through their decimal text, half away from zero as PostgreSQL's numeric does:
 * 1.005 -> 1.01, -1.005 -> -1.01.
 */

/** Whole cents of `x` (finite, below 1e13 in magnitude). */
export function toCents(x: number): number {
  const abs = Math.abs(x);
  if (abs < 0.005) return 0;
  // String(abs) has no exponent for 1e-6 <= abs < 1e21, so appending `e2` shifts the decimal text.
  const cents = Math.round(Number(`${abs}e2`));
  return x < 0 ? -cents : cents;
}

/** `x` rounded to cents, as a number. */
export const roundMoney = (x: number): number => toCents(x) / 100;

/** Cents as the text PostgreSQL's numeric takes ("12.30"). */
export const centsText = (cents: number): string => (cents / 100).toFixed(2);

/** A money value as numeric text, rounded to cents. */
export const moneyText = (x: number): string => centsText(toCents(x));
