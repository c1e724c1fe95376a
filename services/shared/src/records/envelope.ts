/**
 * What every order and campaign record carries besides its content: who sent it (for
 * de-duplication), whose it is, and when it happened. Checked as the event sink checks them: ids by
 * the shared id rules (ids.ts: never cut, an empty id is no id), and the event time is the client's
 * timestamp corrected for its clock skew, refused when absurd.
 */
import { dedupIdsOf, idOf, idTooLong } from '../ids.js';
import { dlq, ok, type Result } from '../pipeline/results.js';
import { checkTime, correctedTime, type TimeLimits } from '../time/occurred-at.js';

/** Whose record it is: the userId, else the anonymousId. */
export interface CustomerClaim {
  id: string;
  type: 'user_id' | 'anonymous_id';
}

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
