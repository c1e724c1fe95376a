import type { Queryable } from '../../../shared/src/pg/gateway.js';
import type { BatchState } from '../batch-state.js';
import { mergeTraitMaps } from '../traits/trait-map.js';
import { profileColumns, profileOf, changedColumns } from '../profile/profile.js';
import { lockCustomers, updateCustomer } from './customers.js';
import { moveCustomerRows } from './move-rows.js';
import { isUniqueViolation } from './unique-conflict.js';

/** 'again': what the decision rested on changed before the locks were held; decide anew. */
export type Attempt<T extends string> = T | 'again';

/** The acquisition columns move together: they describe one first visit. */
const ACQUISITION = [
  'acquisition_channel',
  'acquisition_campaign',
  'acquisition_source',
  'referrer_url',
  'utm_parameters',
];
const hasAcquisition = (alias: string) =>
  `num_nonnulls(${ACQUISITION.map((c) => `${alias}.${c}`).join(', ')}) > 0`;
// The first touch wins: the merged profile's acquisition when the survivor has none, or when the
// merged profile was seen first.
const TAKE_MERGED = `(${hasAcquisition('f')} AND (NOT ${hasAcquisition('i')} OR f.first_seen_at < i.first_seen_at))`;

/**
 * Merges customer `merged` (anonymous) into `survivor`, in the caller's transaction:
 * 1. `merged` is locked FOR UPDATE first (usually already, by the batch's lockNamedCustomers):
 *    this waits for every transaction that inserted a row referring to it, and any later one waits
 *    and then fails (23503, retried: it resolves again and finds the survivor). `survivor` is
 *    locked too (FOR NO KEY UPDATE at least).
 * 2. `stillSo` re-checks, under those locks, what the decision rested on (both still exist, the
 *    ids still resolve as they did, `merged` still carries no userId); otherwise 'again'.
 * 3. Every row referring to `merged` moves (move-rows.ts), the profiles merge (traits by trait
 *    time, first_seen_at the least, last_seen_at the greatest, tags and external ids united,
 *    acquisition from the first touch), `merged` is deleted and is_first_order recomputed.
 */
export async function mergeCustomers(
  tx: Queryable,
  state: BatchState,
  survivor: string,
  merged: string,
  stillSo: () => Promise<boolean>,
): Promise<Attempt<'merged'>> {
  const m = (await lockCustomers(tx, [merged], 'merge')).get(merged);
  const s = (await lockCustomers(tx, [survivor], 'profile')).get(survivor);
  if (!m || !s || !(await stillSo())) return 'again';
  state.firstTouch(survivor, s);

  await moveCustomerRows(tx, merged, survivor);
  // The merged customer's own external id keeps resolving, also for a row that predates the
  // identities table (its identity, if any, was moved above).
  await tx.query(
    'identities.merge.keep-external-id',
    `INSERT INTO customer_identities (external_id, customer_id, identity_type) VALUES ($1, $2, 'anonymous_id')
     ON CONFLICT (external_id) DO NOTHING`,
    [m.row.customer_id, survivor],
  );
  await tx.query(
    'identities.merge.columns',
    `UPDATE customers i SET
       first_seen_at = LEAST(i.first_seen_at, f.first_seen_at),
       last_seen_at = GREATEST(i.last_seen_at, f.last_seen_at),
       tags = ARRAY(SELECT DISTINCT t FROM unnest(coalesce(i.tags, '{}') || coalesce(f.tags, '{}')) AS u(t) ORDER BY t),
       external_ids = coalesce(f.external_ids, '{}') || coalesce(i.external_ids, '{}'),
       ${ACQUISITION.map((c) => `${c} = CASE WHEN ${TAKE_MERGED} THEN f.${c} ELSE i.${c} END`).join(',\n       ')}
     FROM customers f
     WHERE i.id = $1 AND f.id = $2`,
    [survivor, merged],
  );
  const profile = mergeTraitMaps(profileOf(s.row), profileOf(m.row));
  await updateCustomer(tx, survivor, changedColumns(s.row, profileColumns(profile)));
  await tx.query('identities.merge.delete', 'DELETE FROM customers WHERE id = $1', [merged]);
  await tx.query('identities.merge.first-order', 'SELECT refresh_first_order_flags(ARRAY[$1]::uuid[])', [
    survivor,
  ]);
  state.merged(merged, m.row.customer_id, survivor);
  return 'merged';
}

/**
 * Gives the anonymous customer `customer` the user id `userId`, which has no customer yet: the
 * profile is renamed, not copied, so nothing moves and nothing is deleted. Its old external id
 * keeps resolving to it. Should another transaction create `userId`'s customer meanwhile (the
 * rename then fails on customers.customer_id's unique index, after waiting for it), the rename is
 * undone to a savepoint and the caller decides again: now it is a merge.
 */
export async function adoptCustomer(
  tx: Queryable,
  state: BatchState,
  customer: string,
  userId: string,
  stillSo: () => Promise<boolean>,
): Promise<Attempt<'adopted'>> {
  // FOR UPDATE: renaming changes a unique column, which takes this lock anyway; taken first, it
  // also makes the re-check below hold until commit.
  const c = (await lockCustomers(tx, [customer], 'merge')).get(customer);
  if (!c || !(await stillSo())) return 'again';
  state.firstTouch(customer, c);
  await tx.query(
    'identities.adopt.keep-external-id',
    `INSERT INTO customer_identities (external_id, customer_id, identity_type) VALUES ($1, $2, 'anonymous_id')
     ON CONFLICT (external_id) DO NOTHING`,
    [c.row.customer_id, customer],
  );
  await tx.query('identities.adopt.savepoint', 'SAVEPOINT identities_adopt');
  try {
    await tx.query('identities.adopt.rename', 'UPDATE customers SET customer_id = $2 WHERE id = $1', [
      customer,
      userId,
    ]);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    await tx.query('identities.adopt.undo', 'ROLLBACK TO SAVEPOINT identities_adopt');
    return 'again';
  }
  await tx.query('identities.adopt.release', 'RELEASE SAVEPOINT identities_adopt');
  return 'adopted';
}
