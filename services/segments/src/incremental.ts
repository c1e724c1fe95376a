import { randomUUID } from 'node:crypto';
import type { Tx } from '../../shared/src/pg/gateway.js';
import type { Outbox } from '../../shared/src/pipeline/outbox.js';
import type { ActiveSegments } from './active-segments.js';
import { membershipChanges, type Pair } from './membership-changes.js';
import { publishTransitions, type SegmentChangeFeed } from './publish.js';
import { beginBatch, readActiveMemberships, readCustomers, writeTransitions } from './store/memberships.js';

export interface IncrementalResult {
  customers: number;
  entered: number;
  exited: number;
  /** The customer of each transition made here. */
  transitionCustomers: string[];
  /** Transitions others journaled, published in this transaction too. */
  publishedOthers: number;
  /** Segments whose members changed (here or by an earlier writer). */
  segments: Set<string>;
  /** Journal rows were left for the background publisher. */
  morePending: boolean;
}

/**
 * Brings the memberships of these customers up to date with every active segment, from their
 * rows as they are now (not as the change records describe them): a replayed or reordered
 * record decides from the same current state, so the result does not depend on delivery. The
 * transitions go to the outbox here, in the same transaction (not through the journal).
 */
export async function updateMemberships(
  tx: Tx,
  customerIds: readonly string[],
  deps: { segments: ActiveSegments; feed: SegmentChangeFeed; outbox: Outbox; at: Date },
): Promise<IncrementalResult> {
  await beginBatch(tx);
  const segments = await deps.segments.load(tx);
  const customers = segments.length > 0 ? await readCustomers(tx, customerIds) : [];
  const active = customers.length > 0 ? await readActiveMemberships(tx, customerIds) : new Set<string>();
  const changes = membershipChanges(customers, active, segments, deps.at.getTime());
  // What others journaled happened before this transaction's changes: into the outbox first.
  const published = await publishTransitions(tx, deps.feed, deps.outbox);
  let done: { entered: Pair[]; exited: Pair[] } = { entered: [], exited: [] };
  if (changes.enter.length + changes.exit.length > 0) {
    done = await writeTransitions(tx, changes.enter, changes.exit, deps.at);
    const names = new Map(segments.map((s) => [s.id, s.name]));
    const externalIds = new Map(customers.map((c) => [c.id, c.row.customer_id as string]));
    const record = (pair: Pair, change: 'ENTERED' | 'EXITED') => {
      const changeId = randomUUID();
      return {
        topic: deps.feed.topic,
        key: pair[1],
        changeId,
        value: deps.feed.encode({
          changeId,
          segmentId: pair[0],
          segmentName: names.get(pair[0]) ?? null,
          customerId: pair[1],
          externalId: externalIds.get(pair[1]) ?? null,
          change,
          at: deps.at.getTime(),
          producer: deps.feed.producer,
        }),
      };
    };
    await deps.outbox.add([
      ...done.exited.map((p) => record(p, 'EXITED')),
      ...done.entered.map((p) => record(p, 'ENTERED')),
    ]);
  }
  const segmentsChanged = new Set(published.segments);
  for (const [segment] of [...done.entered, ...done.exited]) segmentsChanged.add(segment);
  return {
    customers: customers.length,
    entered: done.entered.length,
    exited: done.exited.length,
    transitionCustomers: [...done.entered, ...done.exited].map((p) => p[1]),
    publishedOthers: published.entered + published.exited,
    segments: segmentsChanged,
    morePending: published.more,
  };
}
