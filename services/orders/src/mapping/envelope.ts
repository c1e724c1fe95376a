/**
 * What every order record carries besides the order: who sent it (for de-duplication), whose order
 * it is, and when it happened. Checked as the event sink checks them: ids are never cut (two ids cut
 * to one prefix would become one customer, or one message dropped as the other's duplicate), and the
 * event time is the client's timestamp corrected for its clock skew, refused when absurd.
 */
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { checkTime, correctedTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
import { storableString } from '../../../shared/src/text/storable.js';
import { codePointLength } from '../../../shared/src/text/code-points.js';
import type { CustomerClaim } from './fields.js';

export interface EnvelopeRecord {
  messageId: string;
  sourceId: string | null;
  userId: string | null;
  anonymousId: string | null;
  timestamp: number;
  sentAt: number | null;
  receivedAt: number;
}

export interface Envelope {
  customer: CustomerClaim;
  sourceKey: string;
  messageId: string;
  eventTime: number;
  receivedAt: number;
}

const LIMITS = { customerId: 100, messageId: 255, sourceId: 100, orderId: 100 } as const;

/** An id field: a non-empty string, else absent (SDKs send null or "" for "no user id"). */
const idOf = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? storableString(v) : null);

export function envelopeOf(r: EnvelopeRecord, limits: TimeLimits): Result<Envelope> {
  const userId = idOf(r.userId);
  const externalId = userId ?? idOf(r.anonymousId);
  if (externalId === null) return dlq('schema-invalid', 'neither userId nor anonymousId is set');
  if (codePointLength(externalId) > LIMITS.customerId)
    return dlq('impossible-value', `customer id is longer than ${LIMITS.customerId} characters`);

  const messageId = idOf(r.messageId);
  if (messageId === null || codePointLength(messageId) > LIMITS.messageId)
    return dlq('schema-invalid', `messageId is empty or longer than ${LIMITS.messageId} characters`);
  const sourceId = idOf(r.sourceId);
  if (sourceId !== null && codePointLength(sourceId) > LIMITS.sourceId)
    return dlq('impossible-value', `sourceId is longer than ${LIMITS.sourceId} characters`);

  if (typeof r.timestamp !== 'number' || typeof r.receivedAt !== 'number')
    return dlq('schema-invalid', 'timestamp or receivedAt is missing');
  const eventTime = correctedTime(r.timestamp, r.sentAt ?? null, r.receivedAt);
  const time = checkTime(eventTime, r.receivedAt, limits);
  if (!time.ok) return dlq(time.reason, time.error);

  return ok({
    customer: { id: externalId, type: userId !== null ? 'user_id' : 'anonymous_id' },
    sourceKey: sourceId ?? 'kafka',
    messageId,
    eventTime,
    receivedAt: r.receivedAt,
  });
}

/** order_id is the order's identity: required, and never cut. */
export function orderIdOf(raw: unknown, where: string): Result<string> {
  const id = idOf(raw);
  if (id === null) return dlq('schema-invalid', `${where} has no order_id`);
  if (codePointLength(id) > LIMITS.orderId)
    return dlq('impossible-value', `order_id is longer than ${LIMITS.orderId} characters`);
  return ok(id);
}
