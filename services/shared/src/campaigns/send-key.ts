/** A send is one campaign, customer and variant (campaign_sends' unique key, NULLS NOT DISTINCT). */
export interface SendKey {
  campaignId: string;
  customerId: string;
  variant: string | null;
}

/** A Map key for a send; NUL cannot occur in ids (the storable-text rule replaces it). */
export const sendKeyString = (k: SendKey): string =>
  `${k.campaignId}\u0000${k.customerId}\u0000${k.variant === null ? '\u0001' : `=${k.variant}`}`;

/** The counters' key: a campaign and a variant. */
export const variantKeyString = (campaignId: string, variant: string | null): string =>
  `${campaignId}\u0000${variant === null ? '\u0001' : `=${variant}`}`;

/** Distinct keys, in a fixed order (campaign, customer, variant), so row locks are taken in one order. */
export function distinctKeys(keys: Iterable<SendKey>): SendKey[] {
  const byString = new Map<string, SendKey>();
  for (const k of keys) byString.set(sendKeyString(k), k);
  return [...byString.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
}

/** The three parallel arrays `unnest($1::uuid[], $2::uuid[], $3::text[])` takes. */
export function keyArrays(keys: readonly SendKey[]): [string[], string[], (string | null)[]] {
  return [keys.map((k) => k.campaignId), keys.map((k) => k.customerId), keys.map((k) => k.variant)];
}

/** SQL: rows of campaign_sends `s` matching unnest(...) AS k(campaign_id, customer_id, variant). */
export const SEND_MATCHES_KEY =
  's.campaign_id = k.campaign_id AND s.customer_id = k.customer_id AND s.variant IS NOT DISTINCT FROM k.variant';
