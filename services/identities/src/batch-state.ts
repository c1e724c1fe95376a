import type { CustomerRow, LockedCustomer } from './db/customers.js';
import type { TraitUpdates, Version } from './traits/trait-map.js';

/** Counts of one write, handed to `committed` only once its transaction committed. */
export interface WriteCounts {
  applied: Record<string, number>;
  merges: Record<string, number>;
  refused: Record<string, number>;
  truncated: Record<string, number>;
  ignored: Record<string, number>;
  changes: Record<string, number>;
}

export const emptyCounts = (): WriteCounts => ({
  applied: {},
  merges: {},
  refused: {},
  truncated: {},
  ignored: {},
  changes: {},
});

export const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

export interface GroupCall {
  customerId: string;
  groupId: string;
  traits: Record<string, unknown>;
  version: Version;
  occurredAt: number;
}

/**
 * What one batch did so far, in memory, inside its transaction: which customers it touched and
 * how each looked before, which were merged into which, and the trait updates still to apply.
 * Customers merged away are followed to their survivor, so updates aimed at them land there.
 */
export class BatchState {
  /** Each touched customer's row before this batch changed it; null when the batch created it. */
  private readonly before = new Map<string, CustomerRow | null>();
  private readonly forward = new Map<string, string>();
  /** survivor -> the profiles merged into it in this batch: [customers.id, customer_id]. */
  private readonly mergedFrom = new Map<string, [string, string][]>();
  private readonly causedAt = new Map<string, number>();
  /** The earliest record time per customer: first_seen_at of a profile without activity. */
  private readonly earliest = new Map<string, number>();
  private readonly patches = new Map<string, { updates: TraitUpdates; version: Version }[]>();
  readonly groupCalls: GroupCall[] = [];
  readonly counts = emptyCounts();

  /** The customer `id` is now: itself, or the survivor it was merged into. */
  final(id: string): string {
    let at = id;
    for (let next = this.forward.get(at); next !== undefined; next = this.forward.get(at)) at = next;
    return at;
  }

  /** Called with the row as first locked in this batch, before this batch changes it. */
  firstTouch(id: string, locked: LockedCustomer): void {
    if (!this.before.has(id)) this.before.set(id, locked.createdHere ? null : locked.row);
  }

  beforeOf(id: string): CustomerRow | null | undefined {
    return this.before.get(id);
  }

  /** A record of event time `at` concerned customer `id`. */
  touch(id: string, at: number): void {
    const final = this.final(id);
    this.causedAt.set(final, Math.max(this.causedAt.get(final) ?? at, at));
    this.earliest.set(final, Math.min(this.earliest.get(final) ?? at, at));
  }

  earliestOf(id: string): number | undefined {
    return this.earliest.get(id);
  }

  patch(id: string, updates: TraitUpdates, version: Version): void {
    const final = this.final(id);
    const list = this.patches.get(final) ?? [];
    list.push({ updates, version });
    this.patches.set(final, list);
    this.touch(final, version[0]);
  }

  /** `merged` (whose external id was `mergedCustomerId`) is gone; all it had is `survivor`'s now. */
  merged(merged: string, mergedCustomerId: string, survivor: string): void {
    this.forward.set(merged, survivor);
    const from = new Map([
      ...(this.mergedFrom.get(survivor) ?? []),
      [merged, mergedCustomerId] as [string, string],
      ...(this.mergedFrom.get(merged) ?? []),
    ]);
    this.mergedFrom.set(survivor, [...from]);
    this.mergedFrom.delete(merged);
    const at = this.causedAt.get(merged);
    if (at !== undefined) this.causedAt.set(survivor, Math.max(this.causedAt.get(survivor) ?? at, at));
    this.causedAt.delete(merged);
    const first = this.earliest.get(merged);
    if (first !== undefined)
      this.earliest.set(survivor, Math.min(this.earliest.get(survivor) ?? first, first));
    this.earliest.delete(merged);
    const moved = this.patches.get(merged);
    if (moved) this.patches.set(survivor, [...(this.patches.get(survivor) ?? []), ...moved]);
    this.patches.delete(merged);
    this.before.delete(merged);
  }

  /** The customers this batch touched that still exist, in id order. */
  touched(): string[] {
    return [...new Set([...this.causedAt.keys()].map((id) => this.final(id)))].sort();
  }

  patchesOf(id: string): readonly { updates: TraitUpdates; version: Version }[] {
    return this.patches.get(id) ?? [];
  }

  /** The profiles merged into `id` in this batch: [customers.id, customer_id] each. */
  mergedInto(id: string): readonly (readonly [string, string])[] {
    return this.mergedFrom.get(id) ?? [];
  }

  causedAtOf(id: string): number {
    return this.causedAt.get(id) ?? Date.now();
  }
}
