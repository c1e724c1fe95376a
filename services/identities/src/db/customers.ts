import type { Queryable } from '../../../shared/src/pg/gateway.js';

/** A customers row as to_jsonb gives it: dates and times as ISO text, numerics as numbers. */
export type CustomerRow = Record<string, unknown> & { id: string; customer_id: string };

export interface LockedCustomer {
  row: CustomerRow;
  /**
   * Written by this very transaction. At the first touch of a customer in a batch (before this
   * processor updated it) that means created by it: a new customer.
   */
  createdHere: boolean;
}

/**
 * Locks and reads customers, in id order (so two transactions cannot wait on each other here).
 * `merge` is FOR UPDATE, for a customer about to be deleted: it waits for every transaction that
 * inserted a row referring to it (their foreign-key check holds FOR KEY SHARE) and makes any later
 * such insert wait, then fail once the row is gone. `profile` is FOR NO KEY UPDATE, the lock an
 * UPDATE of non-key columns takes anyway: it does not conflict with those key-share locks, so
 * inserts of events and orders for a customer (their foreign-key check) never wait for its profile
 * being updated.
 * Customers that no longer exist are missing from the result.
 */
export async function lockCustomers(
  tx: Queryable,
  ids: readonly string[],
  mode: 'merge' | 'profile',
): Promise<Map<string, LockedCustomer>> {
  const { rows } = await tx.query<{ id: string; row: CustomerRow; created_here: boolean }>(
    mode === 'merge' ? 'identities.lock-merged' : 'identities.lock-profile',
    `SELECT c.id, to_jsonb(c) AS row, c.xmin = pg_current_xact_id()::xid AS created_here
     FROM customers c WHERE c.id = ANY($1::uuid[])
     ORDER BY c.id FOR ${mode === 'merge' ? 'UPDATE' : 'NO KEY UPDATE'}`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { row: r.row, createdHere: r.created_here }]));
}

export async function readCustomers(
  tx: Queryable,
  ids: readonly string[],
): Promise<Map<string, CustomerRow>> {
  const { rows } = await tx.query<{ id: string; row: CustomerRow }>(
    'identities.read-customers',
    'SELECT c.id, to_jsonb(c) AS row FROM customers c WHERE c.id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.row]));
}

/** The columns this processor writes, with the cast each parameter needs. */
const WRITABLE = {
  email: 'text',
  phone: 'text',
  name: 'text',
  date_of_birth: 'date',
  gender: 'text',
  country: 'text',
  state: 'text',
  city: 'text',
  postal_code: 'text',
  timezone: 'text',
  custom_attributes: 'jsonb',
  trait_times: 'jsonb',
  external_ids: 'jsonb',
} as const;
export type WritableColumn = keyof typeof WRITABLE;

/** UPDATE of the given columns only (jsonb values as JS values); nothing when `values` is empty. */
export async function updateCustomer(
  tx: Queryable,
  id: string,
  values: Partial<Record<WritableColumn, unknown>>,
): Promise<void> {
  const columns = (Object.keys(values) as WritableColumn[]).filter((c) => c in WRITABLE);
  if (columns.length === 0) return;
  const params = columns.map((c) => {
    const v = values[c];
    return WRITABLE[c] === 'jsonb' ? (v === null || v === undefined ? null : JSON.stringify(v)) : (v ?? null);
  });
  const set = columns.map((c, i) => `${c} = $${i + 2}::${WRITABLE[c]}`).join(', ');
  await tx.query('identities.update-customer', `UPDATE customers SET ${set} WHERE id = $1`, [id, ...params]);
}
