import type { CustomerJson } from '../../shared/src/segments/criteria/index.js';
import type { ActiveSegment } from './active-segments.js';

/** (segment, customer) */
export type Pair = readonly [segmentId: string, customerId: string];

export interface MembershipChanges {
  enter: Pair[];
  exit: Pair[];
}

/**
 * What must change for these customers: each active segment's predicate at `atMs` against each
 * customer's current row, compared with its memberships (`active`: the keys `segment|customer`
 * of active ones). Customers that no longer exist have no row and no memberships left.
 */
export function membershipChanges(
  customers: readonly { id: string; row: CustomerJson }[],
  active: ReadonlySet<string>,
  segments: readonly ActiveSegment[],
  atMs: number,
): MembershipChanges {
  const changes: MembershipChanges = { enter: [], exit: [] };
  for (const segment of segments) {
    for (const customer of customers) {
      const member = active.has(`${segment.id}|${customer.id}`);
      const qualifies = segment.predicate(customer.row, atMs);
      if (qualifies && !member) changes.enter.push([segment.id, customer.id]);
      else if (!qualifies && member) changes.exit.push([segment.id, customer.id]);
    }
  }
  return changes;
}
