import type { Queryable } from '../../../shared/src/pg/gateway.js';
import { resolveCustomers } from '../../../shared/src/customers/resolve.js';

export type IdentityType = 'user_id' | 'anonymous_id' | 'alias';

/**
 * External ids -> customers.id as they resolve now, without creating anything: customer_identities
 * first, then customers.customer_id (rows older than the identities table). Absent: never seen.
 */
export async function lookupIds(tx: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ external_id: string; id: string | null }>(
    'identities.lookup',
    `SELECT i.external_id, coalesce(ci.customer_id, c.id) AS id
     FROM unnest($1::text[]) AS i(external_id)
     LEFT JOIN customer_identities ci ON ci.external_id = i.external_id
     LEFT JOIN customers c ON ci.external_id IS NULL AND c.customer_id = i.external_id`,
    [ids],
  );
  const found = new Map<string, string>();
  for (const r of rows) if (r.id !== null) found.set(r.external_id, r.id);
  return found;
}

/**
 * Which of `customerIds` are known, i.e. carry a userId: an identity of type user_id points at
 * them. A customer with no identity at all (a row imported before the pipeline) counts as known,
 * so it is never merged away on a guess.
 */
export async function knownCustomers(tx: Queryable, customerIds: readonly string[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ customer_id: string; known: boolean }>(
    'identities.known',
    `SELECT c.id AS customer_id,
            coalesce(bool_or(ci.identity_type = 'user_id'), true) AS known
     FROM customers c LEFT JOIN customer_identities ci ON ci.customer_id = c.id
     WHERE c.id = ANY($1::uuid[])
     GROUP BY c.id`,
    [customerIds],
  );
  return new Set(rows.filter((r) => r.known).map((r) => r.customer_id));
}

export interface Link {
  externalId: string;
  customerId: string;
  type: IdentityType;
}

/**
 * Makes each id resolve to its customer, keeping the type an id had when first seen. False when
 * some id already resolves elsewhere: a concurrent transaction linked it meanwhile, and the caller
 * decides again from what is there now.
 */
export async function linkIdentities(tx: Queryable, links: readonly Link[]): Promise<boolean> {
  if (links.length === 0) return true;
  const sorted = [...links].sort((a, b) => (a.externalId < b.externalId ? -1 : 1));
  await tx.query(
    'identities.link',
    `INSERT INTO customer_identities (external_id, customer_id, identity_type)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])
     ON CONFLICT (external_id) DO NOTHING`,
    [sorted.map((l) => l.externalId), sorted.map((l) => l.customerId), sorted.map((l) => l.type)],
  );
  const now = await lookupIds(
    tx,
    sorted.map((l) => l.externalId),
  );
  return sorted.every((l) => now.get(l.externalId) === l.customerId);
}

/**
 * The customer `externalId` resolves to, created (first seen at `seenAt`) when there is none. An
 * identify is no activity: a customer it creates has no last_seen_at until its first event or order.
 */
export async function ensureCustomer(
  tx: Queryable,
  externalId: string,
  type: 'user_id' | 'anonymous_id',
  seenAt: Date,
): Promise<string> {
  const resolved = await resolveCustomers(tx, [{ externalId, identityType: type, seenAt, activity: false }]);
  return resolved.get(externalId)!;
}

/**
 * external_ids' keys written from customer_identities ({"user_id": [...], "anonymous_id": [...],
 * "alias": [...]}, sorted), per customer. Other keys of external_ids (ids from other systems) are
 * left to whoever wrote them.
 */
export async function identitiesByCustomer(
  tx: Queryable,
  customerIds: readonly string[],
): Promise<Map<string, Record<IdentityType, string[]>>> {
  const { rows } = await tx.query<{ customer_id: string; identity_type: IdentityType; ids: string[] }>(
    'identities.by-customer',
    `SELECT customer_id, identity_type, array_agg(external_id ORDER BY external_id) AS ids
     FROM customer_identities WHERE customer_id = ANY($1::uuid[])
     GROUP BY customer_id, identity_type`,
    [customerIds],
  );
  const out = new Map<string, Record<IdentityType, string[]>>();
  for (const r of rows) {
    const ids = out.get(r.customer_id) ?? { user_id: [], anonymous_id: [], alias: [] };
    ids[r.identity_type] = r.ids;
    out.set(r.customer_id, ids);
  }
  return out;
}
