/**
 * How far a send got, and what each provider event proves about it. A status only moves forward:
 * the send's status is the furthest any of its events proves, so events arriving late, out of
 * order or twice give the same status. Engagement proves delivery (a message opened, clicked,
 * unsubscribed from, complained about or converted on was delivered, whatever its `delivered`
 * event says or whether it came at all); delivery and bounces prove sending.
 */

export const CAMPAIGN_EVENT_TYPES = [
  'sent',
  'delivered',
  'bounced',
  'failed',
  'opened',
  'clicked',
  'unsubscribed',
  'complained',
  'converted',
] as const;

export type CampaignEventType = (typeof CAMPAIGN_EVENT_TYPES)[number];

/** campaign_sends.send_status's CHECK. */
export type SendStatus = 'queued' | 'sent' | 'delivered' | 'bounced' | 'failed' | 'rejected';

/**
 * queued < failed/rejected (never left the provider) < sent < bounced < delivered. A bounce
 * followed by a delivery is a soft bounce the provider retried: delivered wins. A bounce reported
 * after a delivery (an asynchronous bounce) keeps `delivered` but records its time and reason.
 */
const RANK: Readonly<Record<SendStatus, number>> = {
  queued: 0,
  failed: 1,
  rejected: 1,
  sent: 2,
  bounced: 3,
  delivered: 4,
};

export const statusRank = (s: string): number => RANK[s as SendStatus] ?? 0;

export function isSendStatus(s: string): s is SendStatus {
  return s in RANK;
}

/** The further of two statuses; equal ranks (failed, rejected) by name, so the choice is commutative. */
export function furtherStatus(a: SendStatus, b: SendStatus): SendStatus {
  const d = statusRank(a) - statusRank(b);
  if (d !== 0) return d > 0 ? a : b;
  return a <= b ? a : b;
}

/** The status an event proves on its own. */
export function statusProvedBy(event: CampaignEventType): SendStatus {
  switch (event) {
    case 'sent':
    case 'delivered':
    case 'bounced':
    case 'failed':
      return event;
    default:
      return 'delivered';
  }
}

/** Events that prove the message left the provider (all but `failed`). */
export const provesSent = (event: CampaignEventType): boolean => event !== 'failed';

/** Events that prove it reached the recipient. */
export const provesDelivered = (event: CampaignEventType): boolean => statusProvedBy(event) === 'delivered';

/** Events that prove it was opened: an open, or a click (images blocked hide opens, not clicks). */
export const provesOpened = (event: CampaignEventType): boolean => event === 'opened' || event === 'clicked';

/** The statuses counted as sent: the message went out, whatever happened next. */
export const SENT_STATUSES: readonly SendStatus[] = ['sent', 'delivered', 'bounced'];

export const isSent = (status: string): boolean => (SENT_STATUSES as readonly string[]).includes(status);
