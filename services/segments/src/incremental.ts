import type { Tx } from '../../shared/src/pg/gateway.js';
import type { Outbox } from '../../shared/src/pipeline/outbox.js';
import type { ActiveSegments } from './active-segments.js';
import { membershipChanges } from './membership-changes.js';
import { publishTransitions, type SegmentChangeFeed } from './publish.js';
import { beginBatch, readCustomers, writeTransitions } from './store/memberships.js';

export interface IncrementalResult {
  customers: number;
  entered: number;
  exited: number;
  /** The customer of each transition made here. */
  transitionCustomers: string[];
  /** Transitions moved to the outbox in this transaction (these and any others journaled before). */
  published: number;
  /** Segments whose members changed (here or by an earlier writer). */
  segments: Set<string>;
  /** Journal rows were left for the background publisher. */
  morePending: boolean;
}

/**
 * Brings the memberships of these customers up to date with every active segment, from their
 * rows as they are now (not as the change records describe them): a replayed or reordered
 * record decides from the same current state, so the result does not depend on delivery. The
 * transitions are journaled by the trigger (0022) and moved to the outbox before the commit.
 */
export async function updateMemberships(
  tx: Tx,
  customerIds: readonly string[],
  deps: { segments: ActiveSegments; feed: SegmentChangeFeed; outbox: Outbox; now: () => Date },
): Promise<IncrementalResult> {
  await beginBatch(tx);
  // After the lock: a batch that waited for a full evaluation stamps its changes after it.
  const at = deps.now();
  const segments = await deps.segments.load(tx);
  const customers = segments.length > 0 ? await readCustomers(tx, customerIds) : [];
  const active = new Set(customers.flatMap((c) => c.segments.map((s) => `${s}|${c.id}`)));
  const changes = membershipChanges(customers, active, segments, at.getTime());
  const done = await writeTransitions(tx, changes.enter, changes.exit, at);
  const published = await publishTransitions(tx, deps.feed, deps.outbox);
  const transitions = [...done.entered, ...done.exited];
  return {
    customers: customers.length,
    entered: done.entered.length,
    exited: done.exited.length,
    transitionCustomers: transitions.map((p) => p[1]),
    published: published.entered + published.exited,
    segments: published.segments,
    morePending: published.more,
  };
}
