/**
 * What every order record carries besides the order: who sent it (for de-duplication), whose order
 * it is, and when it happened. Checked as the event sink checks them: ids by the shared id rules
 * (shared/src/ids.ts: never cut, an empty id is no id), and the event time is the client's timestamp
 * corrected for its clock skew, refused when absurd.
 */
import { dedupIdsOf, idOf, idTooLong } from '../../../shared/src/ids.js';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { checkTime, correctedTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
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

export function envelopeOf(r: EnvelopeRecord, limits: TimeLimits): Result<Envelope> {
  const userId = idOf(r.userId);
  const externalId = userId ?? idOf(r.anonymousId);
  if (externalId === null) return dlq('schema-invalid', 'neither userId nor anonymousId is set');
  const customerTooLong = idTooLong('customer id', externalId);
  if (customerTooLong) return customerTooLong;
  const dedup = dedupIdsOf(r.messageId, r.sourceId);
  if (!dedup.ok) return dedup;

  if (typeof r.timestamp !== 'number' || typeof r.receivedAt !== 'number')
    return dlq('schema-invalid', 'timestamp or receivedAt is missing');
  const eventTime = correctedTime(r.timestamp, r.sentAt ?? null, r.receivedAt);
  const time = checkTime(eventTime, r.receivedAt, limits);
  if (!time.ok) return dlq(time.reason, time.error);

  return ok({
    customer: { id: externalId, type: userId !== null ? 'user_id' : 'anonymous_id' },
    ...dedup.value,
    eventTime,
    receivedAt: r.receivedAt,
  });
}

/** order_id is the order's identity: required, and never cut. */
export function orderIdOf(raw: unknown, where: string): Result<string> {
  const id = idOf(raw);
  if (id === null) return dlq('schema-invalid', `${where} has no order_id`);
  return idTooLong('order_id', id) ?? ok(id);
}
