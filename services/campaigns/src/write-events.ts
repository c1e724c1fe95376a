/**
 * The write of one batch, inside its transaction:
 *  1. the batch's campaigns are locked against deletion (an event whose campaign was deleted since
 *     it was decoded is skipped: its sends went with the campaign), its customers resolved;
 *  2. the events go into campaign_send_events, which keeps each (source, messageId) once, for ever;
 *  3. every send that got a new event is folded again from all its events (fold-send.ts), so late,
 *     out-of-order and repeated events give the same row as events in order;
 *  4. orders its clicks and sends may convert are attributed again (a click that came after its
 *     order), and the sends' conversion columns recounted;
 *  5. the counters change by what the sends changed (send-ledger.ts); unsubscribes and complaints
 *     mark the customer (campaign_suppressions).
 */
import {
  noDecisions,
  recomputeSendConversions,
  reattribute,
  type AttributionCounts,
} from '../../shared/src/campaigns/conversions.js';
import { lockCustomersForAttribution } from '../../shared/src/campaigns/customer-locks.js';
import { foldSend } from '../../shared/src/campaigns/fold-send.js';
import { distinctKeys, sendKeyString, type SendKey } from '../../shared/src/campaigns/send-key.js';
import { SendLedger } from '../../shared/src/campaigns/send-ledger.js';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import { changeRecords, type ChangeFeed } from '../../shared/src/customers/change.js';
import { updateCustomerMetrics } from '../../shared/src/customers/metrics/incremental.js';
import type { Outbox } from '../../shared/src/pipeline/outbox.js';
import type { Tx } from '../../shared/src/pg/gateway.js';
import type { CampaignEvent } from './mapping/campaign-event.js';
import {
  eventKey,
  eventSummaries,
  insertEvents,
  latestEventTimes,
  type EventRow,
} from './store/send-events.js';
import { writeEngagement } from './store/engagement.js';
import { recordSuppressions, type Suppression } from './store/suppressions.js';

export interface WriteCounts {
  /** By `<event>/<outcome>`: applied, duplicate, campaign-deleted. */
  events: Record<string, number>;
  outOfOrder: Record<string, number>;
  late: Record<string, number>;
  attribution: AttributionCounts;
  suppressions: Record<string, number>;
}

export interface WriteOptions {
  lateAfterMs: number;
  /** Where a customer this batch creates is announced (cdp.customer-changes, through the outbox). */
  outbox?: Outbox;
  changes?: ChangeFeed | null;
}

const bump = (m: Record<string, number>, k: string, n = 1) => void (m[k] = (m[k] ?? 0) + n);

/**
 * A customer first named by a provider's event (created by this batch) gets its computed columns
 * (the defaults of a profile never seen) and a CREATED change, as every writer that creates one.
 */
async function announceNewCustomers(tx: Tx, ids: readonly string[], opts: WriteOptions): Promise<void> {
  if (ids.length === 0) return;
  const asOfMs = Date.now();
  const changes = await updateCustomerMetrics(tx, ids, { asOfMs });
  if (opts.outbox && opts.changes) await opts.outbox.add(changeRecords(opts.changes, changes, () => asOfMs));
}

export async function writeCampaignEvents(
  tx: Tx,
  events: readonly CampaignEvent[],
  opts: WriteOptions,
): Promise<WriteCounts> {
  const counts: WriteCounts = {
    events: {},
    outOfOrder: {},
    late: {},
    attribution: noDecisions(),
    suppressions: {},
  };
  if (events.length === 0) return counts;

  const channels = await lockCampaigns(tx, [...new Set(events.map((e) => e.campaignId))]);
  const live = events.filter((e) => channels.has(e.campaignId));
  for (const e of events) if (!channels.has(e.campaignId)) bump(counts.events, `${e.event}/campaign-deleted`);
  if (live.length === 0) return counts;

  const customers = await resolveCustomers(
    tx,
    live.map((e) => ({
      externalId: e.customer.id,
      identityType: e.customer.type,
      seenAt: new Date(e.occurredAt),
      // A provider's report is no activity of the customer's: no last_seen_at from it.
      activity: false,
    })),
  );
  // Key-share locks in id order (the order the customer metrics lock them in), before the events
  // take them in their own order: a merge or an orders batch waits for us, or we for it, never both.
  // Which of them this very transaction created (resolveCustomers): their xmin is ours.
  const { rows: created } = await tx.query<{ id: string; created_here: boolean }>(
    'campaigns.lock-customers-key-share',
    `SELECT id, xmin = pg_current_xact_id()::xid AS created_here
     FROM customers WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE`,
    [[...new Set(customers.values())]],
  );
  await announceNewCustomers(
    tx,
    created.filter((r) => r.created_here).map((r) => r.id),
    opts,
  );
  const rows: EventRow[] = live.map((e) => ({
    sourceKey: e.sourceKey,
    messageId: e.messageId,
    campaignId: e.campaignId,
    customerId: customers.get(e.customer.id)!,
    variant: e.variant,
    event: e.event,
    occurredAt: e.occurredAt,
    receivedAt: e.receivedAt,
    url: e.url,
    valueCents: e.valueCents,
    reason: e.reason,
  }));
  const keyOf = (r: EventRow): SendKey => ({
    campaignId: r.campaignId,
    customerId: r.customerId,
    variant: r.variant,
  });
  const latest = await latestEventTimes(tx, distinctKeys(rows.map(keyOf)));
  const inserted = await insertEvents(tx, rows);

  // Rows appear once in `inserted` however often the batch repeats them: the first copy is the new one.
  const fresh: EventRow[] = [];
  const taken = new Set<string>();
  for (const r of rows) {
    const k = eventKey(r);
    if (inserted.has(k) && !taken.has(k)) {
      taken.add(k);
      fresh.push(r);
    } else bump(counts.events, `${r.event}/duplicate`);
  }
  if (fresh.length === 0) return counts;
  for (const r of fresh) {
    bump(counts.events, `${r.event}/applied`);
    const send = sendKeyString(keyOf(r));
    const before = latest.get(send);
    if (before !== undefined && r.occurredAt < before) bump(counts.outOfOrder, r.event);
    latest.set(send, Math.max(before ?? r.occurredAt, r.occurredAt));
    if (r.receivedAt - r.occurredAt > opts.lateAfterMs) bump(counts.late, r.event);
  }

  // Written our events first, now the attribution locks: see customer-locks.ts.
  const keys = distinctKeys(fresh.map(keyOf));
  await lockCustomersForAttribution(tx, [...new Set(keys.map((k) => k.customerId))]);
  const ledger = new SendLedger();
  await ledger.capture(tx, keys);
  const summaries = await eventSummaries(tx, keys);
  await writeEngagement(
    tx,
    keys.map((key) => ({ key, engagement: foldSend(summaries.get(sendKeyString(key)) ?? []) })),
  );

  const clicks = fresh.filter((r) => r.event === 'clicked');
  const { decisions, sends } = await reattribute(
    tx,
    {
      customers: {
        ids: [...new Set(keys.map((k) => k.customerId))],
        // A click converts orders after it; a send that went out converts the orders naming its campaign.
        since: clicks.length > 0 ? Math.min(...clicks.map((r) => r.occurredAt)) : null,
        campaignIds: [...new Set(keys.map((k) => k.campaignId))],
      },
    },
    ledger,
  );
  counts.attribution = decisions;
  await recomputeSendConversions(tx, [...keys, ...sends]);
  await ledger.settle(tx);

  const marks: Suppression[] = fresh
    .filter((r) => r.event === 'unsubscribed' || r.event === 'complained')
    .map((r) => ({
      customerId: r.customerId,
      channel: channels.get(r.campaignId)!,
      reason: r.event as Suppression['reason'],
      at: r.occurredAt,
      campaignId: r.campaignId,
    }));
  counts.suppressions = await recordSuppressions(tx, marks);
  return counts;
}

/**
 * The batch's campaigns, FOR KEY SHARE: none can be deleted before this transaction ends (a send
 * inserted for a deleted one would fail its foreign key, which the runtime retries for ever).
 * Returns each one's channel (campaign_type).
 */
async function lockCampaigns(tx: Tx, ids: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ id: string; campaign_type: string }>(
    'campaigns.lock-batch-campaigns',
    'SELECT id, campaign_type FROM campaigns WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.campaign_type]));
}
