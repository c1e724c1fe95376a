import { dedupIdsOf, idOf, idTooLong } from '../../../shared/src/ids.js';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { checkTime, correctedTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
import {
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
  storableString,
} from '../../../shared/src/text/storable.js';
import type { IdentityRecord } from './identity-record.js';

/**
 * One cdp.identities record, checked and normalised: what `write` works with. Ids follow the
 * shared id rules (shared/src/ids.ts: an empty id is no id, and ids are never cut). Traits went
 * through the storable-text rule.
 */
export interface IdentityInput {
  kind: 'identify' | 'alias' | 'group';
  messageId: string;
  /** The source's id, or 'kafka' for records produced straight to Kafka (the dedup key). */
  sourceKey: string;
  userId: string | null;
  anonymousId: string | null;
  /** alias: the id linked to userId (previousId, else the anonymousId, as analytics.js fills it). */
  previousId: string | null;
  groupId: string | null;
  /** Corrected event time (epoch ms): what decides which trait is newer. */
  occurredAt: number;
  receivedAt: number;
  traits: Record<string, unknown>;
  contextTimezone: string | null;
}

const KINDS = { IDENTIFY: 'identify', ALIAS: 'alias', GROUP: 'group' } as const;

export function mapIdentityRecord(r: IdentityRecord, limits: TimeLimits): Result<IdentityInput> {
  const kind = KINDS[r.type];
  if (!kind) return dlq('schema-invalid', `unknown type ${String(r.type)}`);

  const ids: Record<'userId' | 'anonymousId' | 'previousId' | 'groupId', string | null> = {
    userId: idOf(r.userId),
    anonymousId: idOf(r.anonymousId),
    previousId: idOf(r.previousId),
    groupId: idOf(r.groupId),
  };
  for (const [field, id] of Object.entries(ids)) {
    const tooLong = idTooLong(field, id);
    if (tooLong) return tooLong;
  }
  const dedup = dedupIdsOf(r.messageId, r.sourceId);
  if (!dedup.ok) return dedup;

  if (kind === 'alias') ids.previousId ??= ids.anonymousId;
  const missing =
    kind === 'alias'
      ? !ids.userId || !ids.previousId
        ? 'alias needs userId and previousId'
        : null
      : !ids.userId && !ids.anonymousId
        ? `${kind} needs userId or anonymousId`
        : kind === 'group' && !ids.groupId
          ? 'group needs groupId'
          : null;
  if (missing) return dlq('schema-invalid', missing);

  let traits: unknown;
  try {
    traits = JSON.parse(r.traitsJson);
  } catch {
    return dlq('schema-invalid', 'traitsJson is not JSON');
  }
  if (typeof traits !== 'object' || traits === null || Array.isArray(traits))
    return dlq('schema-invalid', 'traitsJson is not a JSON object');
  const deepAt = jsonTooDeepAt(traits);
  if (deepAt !== null)
    return dlq('too-deep', `traits nest deeper than ${MAX_JSON_DEPTH} levels at ${deepAt}`);

  const occurredAt = correctedTime(r.timestamp, r.sentAt, r.receivedAt);
  const time = checkTime(occurredAt, r.receivedAt, limits);
  if (!time.ok) return dlq(time.reason, time.error);

  return ok({
    kind,
    ...dedup.value,
    ...ids,
    occurredAt,
    receivedAt: r.receivedAt,
    traits: storableJson(traits as Record<string, unknown>),
    contextTimezone: r.context?.timezone ? storableString(r.context.timezone) : null,
  });
}
