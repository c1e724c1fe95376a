import { randomUUID } from 'node:crypto';
import { topicEncoder, type AvroCodec } from '../avro/registry.js';
import { canonicalJson } from '../text/canonical-json.js';
import { Topics } from '../topics.js';
import type { RowChange } from './metrics/incremental.js';
import { METRIC_COLUMNS, type CustomerRow } from './metrics/values.js';
import { PROFILE_COLUMNS } from './profile-columns.js';

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
 * The customers columns a change reports: the profile (identify, alias, merges) and every
 * computed metric. trait_times, updated_at and last_calculated_at are left out.
 */
export const PUBLISHED_COLUMNS = [
  'customer_id',
  ...PROFILE_COLUMNS,
  'custom_attributes',
  'external_ids',
  'acquisition_channel',
  'acquisition_campaign',
  'acquisition_source',
  'referrer_url',
  'utm_parameters',
  'tags',
  ...METRIC_COLUMNS,
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
  total_sessions: 0,
  total_page_views: 0,
  engagement_score: 0,
  churn_risk_score: 0,
  lifecycle_stage: 'new',
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

export interface ChangeFeed {
  /** The cdp.customer-changes topic (with any prefix). */
  topic: string;
  /** Avro, Confluent wire format, schemas/customer-change.avsc. */
  encode: (change: CustomerChange) => Buffer;
  /** The processor (or job) that made the changes. */
  producer: string;
}

/**
 * The outbox records of the metrics writers' changes (the sink, orders, the scheduled refresh):
 * one per customer whose published columns changed, keyed by customers.id like every change.
 */
export function changeRecords(
  feed: ChangeFeed,
  changes: readonly Pick<RowChange, 'id' | 'before' | 'after'>[],
  causedAt: (customerId: string) => number,
  mergedInto: (customerId: string) => ChangeFacts['mergedFrom'] = () => [],
): ChangeRecord[] {
  const committedAt = Date.now();
  const records: ChangeRecord[] = [];
  for (const c of changes) {
    const change = customerChange(
      { before: c.before, after: c.after, mergedFrom: mergedInto(c.id), causedAt: causedAt(c.id) },
      { changeId: randomUUID(), committedAt, producer: feed.producer },
    );
    if (!change) continue;
    records.push({
      topic: feed.topic,
      // customers.id, not the external id: a rename (adoption) changes customer_id, and a key that
      // changed with it could put the CREATED and a later UPDATED on two partitions, out of order.
      // A merge publishes under the survivor's id, the key of all its earlier changes.
      key: change.customerId,
      value: feed.encode(change),
      changeId: change.changeId,
      kind: change.kind,
    });
  }
  return records;
}

/** An outbox record of cdp.customer-changes, with the change's kind for counting. */
export interface ChangeRecord {
  topic: string;
  key: string;
  value: Buffer;
  changeId: string;
  kind: CustomerChange['kind'];
}

/** Registers the customer-change schema (idempotent) and returns the feed a writer publishes to. */
export async function customerChangeFeed(
  codec: AvroCodec,
  topicPrefix: string,
  producer: string,
): Promise<ChangeFeed> {
  return {
    topic: topicPrefix + Topics.customerChanges,
    encode: await topicEncoder(codec, Topics.customerChanges, 'customer-change.avsc'),
    producer,
  };
}
