import type { Queryable } from '../pg/gateway.js';

export interface CustomerRef {
  /** userId, else anonymousId. */
  externalId: string;
  identityType: 'user_id' | 'anonymous_id';
  /** Earliest activity seen for it in this batch; becomes first_seen_at of a new customer. */
  seenAt: Date;
  /**
   * Whether seenAt is activity (an event, an order: the default) or only a record naming the id
   * (an identify): a customer created by one has no last_seen_at until its first activity.
   */
  activity?: boolean;
}

/**
 * External ids -> customers.id, for every processor. An id first looks in customer_identities (so
 * an anonymous id that an identify or alias linked resolves to the merged customer), then in
 * customers.customer_id; a customer seen for the first time is created with first_seen_at.
 * Ids are handled in sorted order so concurrent transactions take row locks in the same order.
 * The identities processor (merges) writes customer_identities too; see the race handled below.
 */
export async function resolveCustomers(
  db: Queryable,
  refs: readonly CustomerRef[],
): Promise<Map<string, string>> {
  const byId = new Map<string, CustomerRef>();
  for (const r of refs) {
    const seen = byId.get(r.externalId);
    if (!seen || r.seenAt < seen.seenAt) byId.set(r.externalId, r);
  }
  const ids = [...byId.keys()].sort();
  const resolved = new Map<string, string>();
  if (ids.length === 0) return resolved;

  const linked = await db.query<{ external_id: string; customer_id: string }>(
    'customers.resolve-identities',
    'SELECT external_id, customer_id FROM customer_identities WHERE external_id = ANY($1::text[])',
    [ids],
  );
  for (const row of linked.rows) resolved.set(row.external_id, row.customer_id);
  const missing = ids.filter((id) => !resolved.has(id));
  if (missing.length === 0) return resolved;

  const refsOf = missing.map((id) => byId.get(id)!);
  const created = await db.query<{ id: string; customer_id: string; created: boolean }>(
    'customers.create',
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::boolean[]) AS t(customer_id, seen_at, activity)
     ), ins AS (
       INSERT INTO customers (customer_id, first_seen_at, last_seen_at, data_source)
       SELECT customer_id, seen_at, CASE WHEN activity THEN seen_at END, 'api' FROM input ORDER BY customer_id
       ON CONFLICT (customer_id) DO NOTHING
       RETURNING id, customer_id
     )
     SELECT id, customer_id, true AS created FROM ins
     UNION ALL
     SELECT c.id, c.customer_id, false FROM customers c JOIN input i USING (customer_id)
     WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.customer_id = c.customer_id)`,
    [missing, refsOf.map((r) => r.seenAt), refsOf.map((r) => r.activity ?? true)],
  );
  const createdHere = new Set<string>();
  for (const row of created.rows) {
    resolved.set(row.customer_id, row.id);
    if (row.created) createdHere.add(row.customer_id);
  }
  // A customer that a concurrent transaction created while we waited on its insert is not in
  // this statement's snapshot; a new statement sees it.
  const raced = missing.filter((id) => !resolved.has(id));
  if (raced.length > 0) {
    const again = await db.query<{ id: string; customer_id: string }>(
      'customers.resolve-raced',
      'SELECT id, customer_id FROM customers WHERE customer_id = ANY($1::text[])',
      [raced],
    );
    for (const row of again.rows) resolved.set(row.customer_id, row.id);
  }

  const inserted = await db.query<{ external_id: string }>(
    'customers.link-identities',
    `INSERT INTO customer_identities (external_id, customer_id, identity_type)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[]) ORDER BY 1
     ON CONFLICT (external_id) DO NOTHING RETURNING external_id`,
    [missing, missing.map((id) => resolved.get(id)), refsOf.map((r) => r.identityType)],
  );
  // An id that another transaction linked meanwhile (an identify or alias merging it into a known
  // customer) resolves to what that transaction linked, and a customer we created for it here is
  // removed again (nothing refers to it yet): otherwise its events would land on an orphan profile.
  const ours = new Set(inserted.rows.map((r) => r.external_id));
  const taken = missing.filter((id) => !ours.has(id));
  if (taken.length > 0) {
    const winners = await db.query<{ external_id: string; customer_id: string }>(
      'customers.resolve-linked',
      'SELECT external_id, customer_id FROM customer_identities WHERE external_id = ANY($1::text[])',
      [taken],
    );
    const orphans: string[] = [];
    for (const row of winners.rows) {
      const mine = resolved.get(row.external_id);
      if (mine !== row.customer_id && createdHere.has(row.external_id) && mine) orphans.push(mine);
      resolved.set(row.external_id, row.customer_id);
    }
    if (orphans.length > 0) {
      await db.query('customers.drop-orphans', 'DELETE FROM customers WHERE id = ANY($1::uuid[])', [orphans]);
    }
  }
  return resolved;
}
