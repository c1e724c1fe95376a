import type { Queryable } from '../../../shared/src/pg/gateway.js';
import type { CustomerJson } from '../../../shared/src/segments/criteria/index.js';
import type { Pair } from '../membership-changes.js';

/** Begins a batch: full evaluations are excluded for the rest of the transaction (they take the lock exclusively). */
export async function beginBatch(tx: Queryable): Promise<void> {
  await tx.query(
    'segments.begin-batch',
    'SELECT pg_advisory_xact_lock_shared(segment_evaluation_lock_key())',
  );
}

/**
 * The customers as the criteria see them (to_jsonb of the row, the predicate's input format) and
 * the segments they are active members of, in one statement: one snapshot for both.
 */
export async function readCustomers(
  tx: Queryable,
  ids: readonly string[],
): Promise<{ id: string; row: CustomerJson; segments: string[] }[]> {
  const { rows } = await tx.query<{ id: string; row: CustomerJson; segments: string[] }>(
    'segments.customers',
    `SELECT c.id::text AS id, to_jsonb(c) AS row,
            ARRAY(SELECT m.segment_id::text FROM segment_memberships m
                  WHERE m.customer_id = c.id AND m.is_active IS NOT FALSE) AS segments
     FROM customers c WHERE c.id = ANY ($1::uuid[])`,
    [ids],
  );
  return rows;
}

const byPair = (a: Pair, b: Pair) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

/**
 * Entries (a new row, or an inactive one active again with its first_qualified_at kept) and exits
 * (the row stays, inactive, with removed_at), at `at`; in (segment, customer) order, so two
 * writers lock rows in one order. Conditional, so a replayed batch changes nothing twice; returns
 * the transitions that happened (a merge may have moved a row since it was read).
 */
export async function writeTransitions(
  tx: Queryable,
  enter: readonly Pair[],
  exit: readonly Pair[],
  at: Date,
): Promise<{ entered: Pair[]; exited: Pair[] }> {
  const done = { entered: [] as Pair[], exited: [] as Pair[] };
  const pairs = (rows: { segment_id: string; customer_id: string }[]): Pair[] =>
    rows.map((r) => [r.segment_id, r.customer_id] as const);
  if (exit.length > 0) {
    const rows = [...exit].sort(byPair);
    const { rows: exited } = await tx.query<{ segment_id: string; customer_id: string }>(
      'segments.exit',
      `UPDATE segment_memberships m SET is_active = false, removed_at = $3
       FROM unnest($1::uuid[], $2::uuid[]) AS x(segment_id, customer_id)
       WHERE m.segment_id = x.segment_id AND m.customer_id = x.customer_id AND m.is_active IS NOT FALSE
       RETURNING m.segment_id::text, m.customer_id::text`,
      [rows.map((p) => p[0]), rows.map((p) => p[1]), at],
    );
    done.exited = pairs(exited);
  }
  if (enter.length > 0) {
    const rows = [...enter].sort(byPair);
    const { rows: entered } = await tx.query<{ segment_id: string; customer_id: string }>(
      'segments.enter',
      `INSERT INTO segment_memberships (segment_id, customer_id, added_at, first_qualified_at, is_active)
       SELECT x.segment_id, x.customer_id, $3, $3, true
       FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS x(segment_id, customer_id, n)
       ORDER BY x.n
       ON CONFLICT (segment_id, customer_id) DO UPDATE
         SET is_active = true, added_at = EXCLUDED.added_at, removed_at = NULL
         WHERE segment_memberships.is_active IS FALSE
       RETURNING segment_id::text, customer_id::text`,
      [rows.map((p) => p[0]), rows.map((p) => p[1]), at],
    );
    done.entered = pairs(entered);
  }
  return done;
}
