import type { CustomerRow } from '../db/customers.js';
import { PROFILE_COLUMNS } from '../traits/customer-traits.js';
import { canonicalJson } from '../../../shared/src/text/canonical-json.js';

/** The cdp.customer-changes value (schemas/customer-change.avsc). */
export interface CustomerChange {
  changeId: string;
  customerId: string;
  externalId: string;
  kind: 'CREATED' | 'UPDATED' | 'MERGED';
  changes: { column: string; oldJson: string | null; newJson: string | null }[];
  mergedFrom: string[];
  mergedFromIds: string[];
  causedAt: number;
  committedAt: number;
  producer: string;
}

/**
 * The customers columns a change reports: what identify, alias and merges write, and the order
 * metrics a merge moves with the orders. trait_times, updated_at and the columns other processors
 * own alone are left out.
 */
export const PUBLISHED_COLUMNS = [
  'customer_id',
  ...PROFILE_COLUMNS,
  'custom_attributes',
  'external_ids',
  'first_seen_at',
  'last_seen_at',
  'total_orders',
  'total_revenue',
  'average_order_value',
  'lifetime_value',
  'acquisition_channel',
  'acquisition_campaign',
  'acquisition_source',
  'referrer_url',
  'utm_parameters',
  'tags',
] as const;

/** A customer as created, before anything set its columns: the schema's defaults. */
const NEW_CUSTOMER: Readonly<Record<string, unknown>> = {
  custom_attributes: {},
  external_ids: {},
  tags: [],
  total_orders: 0,
  total_revenue: 0,
  average_order_value: 0,
  lifetime_value: 0,
};

export interface ChangeFacts {
  /** The row before the batch touched it; null when the batch created the customer. */
  before: CustomerRow | null;
  after: CustomerRow;
  /** [customers.id, customer_id] of each profile merged into this one in the batch. */
  mergedFrom: readonly (readonly [string, string])[];
  causedAt: number;
}

/**
 * What changed on one customer, or null when nothing did (a replayed record, an identify that
 * repeats what is known). A new customer is CREATED, one that absorbed another MERGED (with
 * mergedFrom), else UPDATED; only columns whose value really changed are listed.
 */
export function customerChange(
  facts: ChangeFacts,
  ids: { changeId: string; committedAt: number; producer: string },
): CustomerChange | null {
  const before = facts.before ?? NEW_CUSTOMER;
  const changes: CustomerChange['changes'] = [];
  for (const column of PUBLISHED_COLUMNS) {
    const old = before[column] ?? null;
    const now = facts.after[column] ?? null;
    const oldJson = old === null ? null : canonicalJson(old);
    const newJson = now === null ? null : canonicalJson(now);
    if (oldJson !== newJson) changes.push({ column, oldJson, newJson });
  }
  const kind = facts.before === null ? 'CREATED' : facts.mergedFrom.length > 0 ? 'MERGED' : 'UPDATED';
  if (kind === 'UPDATED' && changes.length === 0) return null;
  return {
    changeId: ids.changeId,
    customerId: facts.after.id,
    externalId: facts.after.customer_id,
    kind,
    changes,
    mergedFrom: facts.mergedFrom.map(([, externalId]) => externalId),
    mergedFromIds: facts.mergedFrom.map(([id]) => id),
    causedAt: facts.causedAt,
    committedAt: ids.committedAt,
    producer: ids.producer,
  };
}
