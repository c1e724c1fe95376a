import { RetryableError } from '../../shared/src/errors.js';
import type { Tx } from '../../shared/src/pg/gateway.js';
import type { Decoded, WriteContext } from '../../shared/src/pipeline/processor.js';
import { BatchState, bump, type WriteCounts } from './batch-state.js';
import { lockCustomers, readCustomers, updateCustomer } from './db/customers.js';
import { applyGroupCalls } from './db/groups.js';
import { ensureCustomer, identitiesByCustomer, lookupIds } from './db/identities.js';
import { lockCustomersForAttribution } from '../../shared/src/campaigns/customer-locks.js';
import { linkIds, type LinkOutcome } from './db/link.js';
import type { IdentityInput } from './mapping/identity-input.js';
import { changeRecords, type ChangeFeed } from '../../shared/src/customers/change.js';
import { changedColumns, externalIdsWith, profileColumns, profileOf } from './profile/profile.js';
import { customerTraitUpdates } from './traits/customer-traits.js';
import { recomputeCustomers } from '../../shared/src/customers/metrics/repair.js';
import { updateCustomerMetrics } from '../../shared/src/customers/metrics/incremental.js';
import { applyTraits, type Version } from './traits/trait-map.js';

export interface WriteDeps {
  /** cdp.customer-changes (customerChangeFeed). */
  changes: ChangeFeed;
}

/**
 * One batch, inside its transaction: the records in offset order (links and merges happen as
 * they come, so a later record of the batch already resolves through an earlier one's merge),
 * then each touched customer once: its trait updates applied by trait time, external_ids from
 * customer_identities; then group calls; then one CustomerChange per customer that changed.
 */
export async function writeIdentities(
  tx: Tx,
  records: readonly Decoded<IdentityInput>[],
  ctx: WriteContext,
  deps: WriteDeps,
): Promise<WriteCounts> {
  const state = new BatchState();
  await lockNamedCustomers(
    tx,
    records.map((r) => r.value),
  );
  for (const { value } of records) await applyRecord(tx, state, value);
  const ids = state.touched();
  await applyProfiles(tx, state, ids);
  await applyGroupCalls(
    tx,
    state.groupCalls.map((c) => ({ ...c, customerId: state.final(c.customerId) })),
  );
  await updateMetrics(tx, state, ids);
  await publishChanges(tx, state, ids, ctx, deps);
  return state.counts;
}

/**
 * The computed columns of the touched customers: a survivor of a merge recomputed from the raw
 * tables (the events and orders it took over), the others brought up to date (an identify can
 * set date_of_birth, hence age_group; a new profile gets its first scores).
 */
async function updateMetrics(tx: Tx, state: BatchState, ids: readonly string[]): Promise<void> {
  const asOfMs = Date.now();
  const survivors = ids.filter((id) => state.mergedInto(id).length > 0);
  await recomputeCustomers(tx, survivors, asOfMs);
  await updateCustomerMetrics(
    tx,
    ids.filter((id) => state.mergedInto(id).length === 0),
    { asOfMs },
  );
  // Without events or orders a profile was first seen by its earliest identify, whichever
  // identify arrived first.
  const earliest = ids.map((id) => state.earliestOf(id) ?? asOfMs);
  await tx.query(
    'identities.first-seen',
    `UPDATE customers c SET first_seen_at = u.at
     FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
     WHERE c.id = u.id AND c.last_seen_at IS NULL AND c.first_seen_at > u.at`,
    [ids, earliest.map((ms) => new Date(ms))],
  );
}

/**
 * Every existing customer the batch names, locked before any of its work: the rows FOR UPDATE in
 * id order (a merge deletes some of them; taken now, no lock is upgraded later while another
 * writer holds a key-share lock on it), then their campaign attribution locks in key order. Every
 * other writer of customers (the sink, orders, campaigns, the scheduler) takes its row locks in id
 * order before anything else too, so none of them waits on another in a cycle. A customer created
 * or first resolved later in the batch is new, or raced by a concurrent merge: its lock then comes
 * late, and a deadlock, should one follow, is retried.
 */
async function lockNamedCustomers(tx: Tx, inputs: readonly IdentityInput[]): Promise<void> {
  const named = new Set<string>();
  for (const v of inputs) for (const id of [v.userId, v.anonymousId, v.previousId]) if (id) named.add(id);
  const customers = [...new Set((await lookupIds(tx, [...named])).values())].sort();
  if (customers.length === 0) return;
  await tx.query(
    'identities.lock-named',
    'SELECT 1 FROM customers WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    [customers],
  );
  await lockCustomersForAttribution(tx, customers);
}

async function applyRecord(tx: Tx, state: BatchState, v: IdentityInput): Promise<void> {
  const version: Version = [v.occurredAt, v.messageId];
  const seenAt = new Date(v.occurredAt);
  bump(state.counts.applied, v.kind);

  let customerId: string;
  if (v.kind === 'alias' && v.previousId !== v.userId) {
    customerId = counted(state, await linkIds(tx, state, v.userId!, v.previousId!, 'alias', seenAt));
  } else if (v.kind === 'identify' && v.userId && v.anonymousId && v.userId !== v.anonymousId) {
    customerId = counted(state, await linkIds(tx, state, v.userId, v.anonymousId, 'anonymous_id', seenAt));
  } else {
    // Group calls link nothing: only identify and alias say that two ids are one person.
    const own = v.userId ?? v.anonymousId!;
    customerId = await ensureCustomer(tx, own, v.userId ? 'user_id' : 'anonymous_id', seenAt);
  }
  state.touch(customerId, v.occurredAt);

  if (v.kind === 'identify') {
    const mapped = customerTraitUpdates(v.traits, {
      eventTime: v.occurredAt,
      contextTimezone: v.contextTimezone,
    });
    for (const column of mapped.truncated) bump(state.counts.truncated, column);
    for (const column of mapped.ignored) bump(state.counts.ignored, column);
    if (mapped.updates.size > 0) state.patch(customerId, mapped.updates, version);
  } else if (v.kind === 'group') {
    state.groupCalls.push({
      customerId,
      groupId: v.groupId!,
      traits: v.traits,
      version,
      occurredAt: v.occurredAt,
    });
  }
}

function counted(state: BatchState, link: LinkOutcome): string {
  if (link.outcome === 'merged' || link.outcome === 'adopted') bump(state.counts.merges, link.outcome);
  if (link.outcome === 'refused') bump(state.counts.refused, link.reason);
  return link.customerId;
}

/** Each touched customer, locked in id order: trait updates by trait time, external_ids. */
async function applyProfiles(tx: Tx, state: BatchState, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const locked = await lockCustomers(tx, ids, 'profile');
  // A concurrent batch merged one of them away after this one resolved it: resolve again.
  if (locked.size !== ids.length) throw new RetryableError('a customer of this batch was merged meanwhile');
  const identities = await identitiesByCustomer(tx, ids);
  for (const id of ids) {
    const c = locked.get(id)!;
    state.firstTouch(id, c);
    let profile = profileOf(c.row);
    for (const p of state.patchesOf(id)) profile = applyTraits(profile, p.updates, p.version);
    const next = {
      ...profileColumns(profile),
      external_ids: externalIdsWith(c.row.external_ids, identities.get(id)),
    };
    await updateCustomer(tx, id, changedColumns(c.row, next));
  }
}

async function publishChanges(
  tx: Tx,
  state: BatchState,
  ids: readonly string[],
  ctx: WriteContext,
  deps: WriteDeps,
): Promise<void> {
  if (ids.length === 0) return;
  const after = await readCustomers(tx, ids);
  const changes = ids.map((id) => {
    const row = after.get(id);
    const before = state.beforeOf(id);
    if (!row || before === undefined)
      throw new Error(`customer ${id} of this batch was not read before it changed`);
    return { id, before, after: row };
  });
  const records = changeRecords(
    deps.changes,
    changes,
    (id) => state.causedAtOf(id),
    (id) => state.mergedInto(id),
  );
  for (const r of records) bump(state.counts.changes, r.kind);
  await ctx.outbox.add(records);
}
