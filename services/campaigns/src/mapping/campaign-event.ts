/**
 * cdp.campaign-events records (schemas/campaign-event.avsc) -> the event the processor applies.
 * Checked as every processor checks a record (shared/src/ids.ts: ids never cut, an empty id is no
 * id; the event time corrected for clock skew, refused when absurd). Whether the campaign exists
 * is the processor's next step (campaign-directory.ts).
 */
import { idOf } from '../../../shared/src/ids.js';
import { envelopeOf } from '../../../shared/src/records/envelope.js';
import { toCents } from '../../../shared/src/records/money.js';
import { CAMPAIGN_EVENT_TYPES, type CampaignEventType } from '../../../shared/src/campaigns/send-status.js';
import { dlq, ok, type Result } from '../../../shared/src/pipeline/results.js';
import { storableString } from '../../../shared/src/text/storable.js';
import { codePointLength, truncateCodePoints } from '../../../shared/src/text/code-points.js';
import type { TimeLimits } from '../../../shared/src/time/occurred-at.js';

/** The value as avsc decodes it: null meaning "not given". */
export interface CampaignEventRecord {
  messageId: string;
  sourceId: string | null;
  userId: string | null;
  anonymousId: string | null;
  campaign_id: string;
  event: string;
  variant: string | null;
  url: string | null;
  value: number | null;
  reason: string | null;
  timestamp: number;
  sentAt: number | null;
  receivedAt: number;
}

export interface CampaignEvent {
  sourceKey: string;
  messageId: string;
  customer: { id: string; type: 'user_id' | 'anonymous_id' };
  campaignId: string;
  event: CampaignEventType;
  variant: string | null;
  url: string | null;
  /** `converted`: its value in cents. */
  valueCents: number | null;
  reason: string | null;
  occurredAt: number;
  receivedAt: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** campaign_sends.variant, a part of the send's identity: longer is refused, never cut. */
export const VARIANT_MAX = 50;
/** campaign_sends.bounce_reason (the collector refuses longer with a 400); cut here. */
export const REASON_MAX = 500;
/** The collector's limit for url; a longer one from a direct producer is cut. */
export const URL_MAX = 2048;
/** campaign_send_events.value is DECIMAL(12,2). */
const VALUE_MAX = 9_999_999_999.99;

const isEventType = (v: unknown): v is CampaignEventType =>
  typeof v === 'string' && (CAMPAIGN_EVENT_TYPES as readonly string[]).includes(v);

const cut = (v: string | null, max: number): string | null =>
  v === null ? null : truncateCodePoints(storableString(v), max);

export function mapCampaignEvent(r: CampaignEventRecord, limits: TimeLimits): Result<CampaignEvent> {
  const envelope = envelopeOf(r, limits);
  if (!envelope.ok) return envelope;

  if (typeof r.campaign_id !== 'string' || !UUID.test(r.campaign_id))
    return dlq('schema-invalid', 'campaign_id is not a UUID');
  if (!isEventType(r.event)) return dlq('schema-invalid', 'event is not a campaign event type');
  const variant = idOf(r.variant);
  if (variant !== null && codePointLength(variant) > VARIANT_MAX)
    return dlq('impossible-value', `variant is longer than ${VARIANT_MAX} characters`);
  if (r.value !== null && (!Number.isFinite(r.value) || Math.abs(r.value) > VALUE_MAX))
    return dlq('impossible-value', 'value does not fit DECIMAL(12,2)');

  const { sourceKey, messageId, customer, eventTime, receivedAt } = envelope.value;
  return ok({
    sourceKey,
    messageId,
    customer,
    campaignId: r.campaign_id.toLowerCase(),
    event: r.event,
    variant,
    url: cut(r.url, URL_MAX),
    valueCents: r.value === null ? null : toCents(r.value),
    reason: cut(r.reason, REASON_MAX),
    occurredAt: eventTime,
    receivedAt,
  });
}
