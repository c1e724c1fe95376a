/**
 * The id rules every processor applies to a record before it touches a customer or de-duplicates
 * it. An id is the storable text of a non-empty string (SDKs send "" and null for "none"), and it is
 * never cut: two ids cut to the same prefix would become one customer, or one message dropped as the
 * other's duplicate. An id longer than its column is an impossible value: a dead letter. (The
 * collector refuses such ids with a 400 already; records produced straight to Kafka meet these
 * checks first.)
 */
import { dlq, ok, type Result } from './pipeline/results.js';
import { codePointLength } from './text/code-points.js';
import { storableString } from './text/storable.js';

/**
 * Column widths in characters: `id` is customers.customer_id, customer_identities.external_id,
 * customer_groups.group_id and customer_orders.order_id; `messageId` and `sourceId` are
 * message_dedup's.
 */
export const ID_LIMITS = { id: 100, messageId: 255, sourceId: 100 } as const;

/** The source key of records produced straight to Kafka, which carry no sourceId. */
export const KAFKA_SOURCE_KEY = 'kafka';

/** An id field: the storable-text rule applied; anything but a non-empty string is no id. */
export function idOf(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? storableString(v) : null;
}

/** The dead letter of an id longer than `limit` characters (code points), or null when it fits. */
export function idTooLong(
  what: string,
  id: string | null,
  limit: number = ID_LIMITS.id,
): Result<never> | null {
  return id !== null && codePointLength(id) > limit
    ? dlq('impossible-value', `${what} is longer than ${limit} characters`)
    : null;
}

/** What a record is de-duplicated on: (sourceKey, messageId). */
export interface DedupIds {
  messageId: string;
  /** The sourceId, else KAFKA_SOURCE_KEY. */
  sourceKey: string;
}

/**
 * A record's messageId (required: without one it could not be de-duplicated) and source key. The
 * messageId is part of the schema's contract, so a missing or oversized one is schema-invalid; an
 * oversized sourceId is an impossible value, like any other id.
 */
export function dedupIdsOf(messageId: unknown, sourceId: unknown): Result<DedupIds> {
  const message = idOf(messageId);
  if (message === null || codePointLength(message) > ID_LIMITS.messageId)
    return dlq('schema-invalid', `messageId is empty or longer than ${ID_LIMITS.messageId} characters`);
  const source = idOf(sourceId);
  const tooLong = idTooLong('sourceId', source, ID_LIMITS.sourceId);
  if (tooLong) return tooLong;
  return ok({ messageId: message, sourceKey: source ?? KAFKA_SOURCE_KEY });
}
