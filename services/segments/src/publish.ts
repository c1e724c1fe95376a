/**
 * Membership transitions to cdp.segment-changes. The trigger of 0022 journals every transition in
 * the transaction that made it (segment_membership_changes); here journal rows become outbox
 * records in one transaction, so each transition is published once whoever made it: this
 * processor, a refresh by the scheduler or by hand, a profile merge, a deleted customer.
 */
import { topicEncoder, type AvroCodec } from '../../shared/src/avro/registry.js';
import type { Queryable } from '../../shared/src/pg/gateway.js';
import type { Outbox } from '../../shared/src/pipeline/outbox.js';
import { Topics } from '../../shared/src/topics.js';

export interface SegmentChange {
  changeId: string;
  segmentId: string;
  segmentName: string | null;
  customerId: string;
  externalId: string | null;
  change: 'ENTERED' | 'EXITED';
  /** epoch ms */
  at: number;
  producer: string;
}

export interface SegmentChangeFeed {
  topic: string;
  encode: (change: SegmentChange) => Buffer;
  producer: string;
}

export async function segmentChangeFeed(
  codec: AvroCodec,
  topicPrefix: string,
  producer: string,
): Promise<SegmentChangeFeed> {
  return {
    topic: topicPrefix + Topics.segmentChanges,
    encode: await topicEncoder(codec, Topics.segmentChanges, 'segment-change.avsc'),
    producer,
  };
}

export interface Published {
  entered: number;
  exited: number;
  /** The segments whose members changed: their statistics are due. */
  segments: Set<string>;
  /** Whether rows may be left (a full slice, or another publisher holding the turn). */
  more: boolean;
}

const SLICE = 5_000;

/**
 * Moves up to one slice of journaled transitions into the outbox, oldest first. One publisher at a
 * time (a transaction-scoped try-lock): a second one returns at once and leaves the rows to the
 * one holding it or to the next pass, so records leave in journal order.
 */
export async function publishTransitions(
  tx: Queryable,
  feed: SegmentChangeFeed,
  outbox: Outbox,
): Promise<Published> {
  const published: Published = { entered: 0, exited: 0, segments: new Set(), more: false };
  const { rows: turn } = await tx.query<{ mine: boolean }>(
    'segment-changes.turn',
    "SELECT pg_try_advisory_xact_lock(hashtextextended('cdp.segment-changes', 0)) AS mine",
  );
  if (!turn[0]?.mine) return { ...published, more: true };
  const { rows } = await tx.query<{
    change_id: string;
    segment_id: string;
    customer_id: string;
    external_id: string | null;
    entered: boolean;
    changed_at: Date;
    name: string | null;
  }>(
    'segment-changes.drain',
    `WITH drained AS (
       DELETE FROM segment_membership_changes
       WHERE id IN (SELECT id FROM segment_membership_changes ORDER BY id LIMIT $1)
       RETURNING id, change_id, segment_id, customer_id, external_id, entered, changed_at)
     SELECT d.change_id, d.segment_id, d.customer_id, d.external_id, d.entered, d.changed_at, s.name
     FROM drained d LEFT JOIN segments s ON s.id = d.segment_id
     ORDER BY d.id`,
    [SLICE],
  );
  await outbox.add(
    rows.map((r) => ({
      topic: feed.topic,
      key: r.customer_id,
      changeId: r.change_id,
      value: feed.encode({
        changeId: r.change_id,
        segmentId: r.segment_id,
        segmentName: r.name,
        customerId: r.customer_id,
        externalId: r.external_id,
        change: r.entered ? 'ENTERED' : 'EXITED',
        at: r.changed_at.getTime(),
        producer: feed.producer,
      }),
    })),
  );
  for (const r of rows) {
    if (r.entered) published.entered++;
    else published.exited++;
    published.segments.add(r.segment_id);
  }
  published.more = rows.length === SLICE;
  return published;
}
