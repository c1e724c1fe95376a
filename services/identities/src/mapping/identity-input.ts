import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { checkTime, correctedTime, type TimeLimits } from '../../../shared/src/time/occurred-at.js';
import {
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
  storableString,
} from '../../../shared/src/text/storable.js';
import { codePointLength } from '../../../shared/src/text/code-points.js';
import type { IdentityRecord } from './identity-record.js';

/**
 * One cdp.identities record, checked and normalised: what `write` works with. Ids follow the
 * collector's rules (an empty id is no id) and are never cut: two ids cut to the same prefix
 * would become one customer. Traits went through the storable-text rule.
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

/** customer_identities.external_id / customer_groups.group_id, message_dedup's columns. */
const ID_LIMITS = { id: 100, messageId: 255, sourceId: 100 } as const;

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
    if (id !== null && codePointLength(id) > ID_LIMITS.id)
      return dlq('impossible-value', `${field} is longer than ${ID_LIMITS.id} characters`);
  }
  const messageId = r.messageId ? storableString(r.messageId) : '';
  if (!messageId || codePointLength(messageId) > ID_LIMITS.messageId)
    return dlq('schema-invalid', `messageId is empty or longer than ${ID_LIMITS.messageId} characters`);
  const sourceId = r.sourceId ? storableString(r.sourceId) : null;
  if (sourceId !== null && codePointLength(sourceId) > ID_LIMITS.sourceId)
    return dlq('impossible-value', `sourceId is longer than ${ID_LIMITS.sourceId} characters`);

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
    messageId,
    sourceKey: sourceId ?? 'kafka',
    ...ids,
    occurredAt,
    receivedAt: r.receivedAt,
    traits: storableJson(traits as Record<string, unknown>),
    contextTimezone: r.context?.timezone ? storableString(r.context.timezone) : null,
  });
}

/** An id field: the text rule applied; empty is no id (analytics.js and RudderStack send "" and null). */
function idOf(v: string | null): string | null {
  return v ? storableString(v) : null;
}
