/**
 * A send's engagement columns from the events it has had, summarised per event type. The summaries
 * are aggregates (first, last, count), so the result does not depend on the order the events
 * arrived in, and an event applied twice cannot change it (the events table keeps each provider
 * event once by messageId).
 */
import {
  furtherStatus,
  provesDelivered,
  provesOpened,
  provesSent,
  statusProvedBy,
  type CampaignEventType,
  type SendStatus,
} from './send-status.js';

/** What a send's events of one type amount to (campaign_send_events grouped by send and event). */
export interface EventSummary {
  event: CampaignEventType;
  /** Earliest and latest occurred_at, epoch ms. */
  first: number;
  last: number;
  count: number;
  /** The reason of the latest event of this type that has one (bounces, failures). */
  lastReason: string | null;
  /** The messageId of the earliest event of this type (ties: the smallest id). */
  firstMessageId: string;
  /** The name of the source that sent the earliest event of this type (null: produced straight to Kafka). */
  firstSourceName: string | null;
}

/** The campaign_sends columns the events decide (conversions are counted apart: conversions.ts). */
export interface Engagement {
  status: SendStatus;
  sentAt: number | null;
  deliveredAt: number | null;
  openedAt: number | null;
  firstClickAt: number | null;
  lastClickAt: number | null;
  totalClicks: number;
  unsubscribedAt: number | null;
  complainedAt: number | null;
  bouncedAt: number | null;
  bounceReason: string | null;
  failedAt: number | null;
  failureReason: string | null;
  /** Attempts the provider reported (`sent` and `failed` events), at least 1: the seed's default. */
  deliveryAttempt: number;
  /** The messageId of the send's earliest `sent` event: the provider's id of the message it sent. */
  externalMessageId: string | null;
  /** The source (sending provider) of the send's earliest event. */
  serviceProvider: string | null;
}

const min = (a: number | null, b: number): number => (a === null || b < a ? b : a);

export function foldSend(summaries: readonly EventSummary[]): Engagement {
  const e: Engagement = {
    status: 'queued',
    sentAt: null,
    deliveredAt: null,
    openedAt: null,
    firstClickAt: null,
    lastClickAt: null,
    totalClicks: 0,
    unsubscribedAt: null,
    complainedAt: null,
    bouncedAt: null,
    bounceReason: null,
    failedAt: null,
    failureReason: null,
    deliveryAttempt: 1,
    externalMessageId: null,
    serviceProvider: null,
  };
  let attempts = 0;
  let earliest: EventSummary | undefined;
  for (const s of summaries) {
    e.status = furtherStatus(e.status, statusProvedBy(s.event));
    if (provesSent(s.event)) e.sentAt = min(e.sentAt, s.first);
    if (provesDelivered(s.event)) e.deliveredAt = min(e.deliveredAt, s.first);
    if (provesOpened(s.event)) e.openedAt = min(e.openedAt, s.first);
    switch (s.event) {
      case 'clicked':
        e.firstClickAt = s.first;
        e.lastClickAt = s.last;
        e.totalClicks = s.count;
        break;
      case 'unsubscribed':
        e.unsubscribedAt = s.first;
        break;
      case 'complained':
        e.complainedAt = s.first;
        break;
      case 'bounced':
        e.bouncedAt = s.last;
        e.bounceReason = s.lastReason;
        break;
      case 'failed':
        e.failedAt = s.last;
        e.failureReason = s.lastReason;
        attempts += s.count;
        break;
      case 'sent':
        e.externalMessageId = s.firstMessageId;
        attempts += s.count;
        break;
    }
    if (!earliest || s.first < earliest.first || (s.first === earliest.first && s.event < earliest.event))
      earliest = s;
  }
  e.deliveryAttempt = Math.max(1, attempts);
  e.serviceProvider = earliest?.firstSourceName ?? null;
  return e;
}
