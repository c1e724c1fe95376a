import type { Queryable } from '../pg/gateway.js';

/** pg_advisory_xact_lock's first key: 'camp'. */
const NAMESPACE = 0x63616d70;

/**
 * Serialises attribution per customer across the orders processor, the campaigns processor and
 * merges. Each writes its own rows first (the order, the click) and takes these locks before it
 * reads the other side's, so whichever locks second sees what the first committed: a click and the
 * order it converts can never both commit unseen by each other. Taken in key order: no deadlock
 * among holders of these locks.
 */
export async function lockCustomersForAttribution(
  tx: Queryable,
  customerIds: readonly string[],
): Promise<void> {
  if (customerIds.length === 0) return;
  await tx.query(
    'campaigns.lock-customers',
    `SELECT pg_advisory_xact_lock($1, h)
     FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($2::text[]) AS x ORDER BY 1) t`,
    [NAMESPACE, [...new Set(customerIds)]],
  );
}
