import { Topics } from '../../../shared/src/topics.js';
import {
  asId,
  asNumber,
  asString,
  customerKey,
  messageIdFor,
  timesFor,
  type Json,
  type RequestMeta,
} from './common.js';
import type { Outgoing } from './segment.js';

/** A sending provider's delivery or engagement event to its cdp.campaign-events record. */
export function mapCampaignEvent(e: Json, meta: RequestMeta): Outgoing {
  return {
    topic: Topics.campaignEvents,
    key: customerKey(e),
    value: {
      messageId: messageIdFor(e, meta.sourceId),
      sourceId: meta.sourceId,
      userId: asId(e.userId),
      anonymousId: asId(e.anonymousId),
      campaign_id: asString(e.campaign_id),
      event: asString(e.event),
      variant: asString(e.variant),
      url: asString(e.url),
      value: asNumber(e.value),
      reason: asString(e.reason),
      ...timesFor(e, meta),
    },
  };
}
