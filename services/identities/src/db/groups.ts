import type { Queryable } from '../../../shared/src/pg/gateway.js';
import type { GroupCall } from '../batch-state.js';
import { groupProfileOf, groupColumns } from '../profile/group-profile.js';
import { applyTraits, sameTraitMaps } from '../traits/trait-map.js';

/**
 * group(userId | anonymousId, groupId, traits): the group's row in customer_groups, its traits
 * merged last-writer-wins by event time (the same rule as customers), and the customer's
 * membership, joined at the earliest group call. `calls` name final customer ids (after merges).
 */
export async function applyGroupCalls(tx: Queryable, calls: readonly GroupCall[]): Promise<void> {
  if (calls.length === 0) return;
  const firstSeen = new Map<string, number>();
  const joined = new Map<string, { customerId: string; groupId: string; at: number }>();
  for (const c of calls) {
    firstSeen.set(c.groupId, Math.min(firstSeen.get(c.groupId) ?? c.occurredAt, c.occurredAt));
    const key = `${c.customerId}\u0000${c.groupId}`;
    const seen = joined.get(key);
    if (!seen || c.occurredAt < seen.at)
      joined.set(key, { customerId: c.customerId, groupId: c.groupId, at: c.occurredAt });
  }
  const groupIds = [...firstSeen.keys()].sort();
  await tx.query(
    'identities.groups.upsert',
    `INSERT INTO customer_groups (group_id, first_seen_at)
     SELECT * FROM unnest($1::text[], $2::timestamptz[]) ORDER BY 1
     ON CONFLICT (group_id) DO UPDATE SET first_seen_at = EXCLUDED.first_seen_at
     WHERE EXCLUDED.first_seen_at < customer_groups.first_seen_at`,
    [groupIds, groupIds.map((g) => new Date(firstSeen.get(g)!))],
  );
  const { rows } = await tx.query<{ group_id: string; traits: unknown; trait_times: unknown }>(
    'identities.groups.lock',
    `SELECT group_id, traits, trait_times FROM customer_groups
     WHERE group_id = ANY($1::text[]) ORDER BY group_id FOR NO KEY UPDATE`,
    [groupIds],
  );
  for (const row of rows) {
    const before = groupProfileOf(row.traits, row.trait_times);
    let after = before;
    for (const c of calls) {
      if (c.groupId === row.group_id)
        after = applyTraits(after, new Map(Object.entries(c.traits)), c.version);
    }
    if (sameTraitMaps(before, after)) continue;
    const { traits, traitTimes } = groupColumns(after);
    await tx.query(
      'identities.groups.update',
      'UPDATE customer_groups SET traits = $2::jsonb, trait_times = $3::jsonb WHERE group_id = $1',
      [row.group_id, JSON.stringify(traits), JSON.stringify(traitTimes)],
    );
  }
  const members = [...joined.values()].sort((a, b) =>
    a.customerId !== b.customerId ? (a.customerId < b.customerId ? -1 : 1) : a.groupId < b.groupId ? -1 : 1,
  );
  await tx.query(
    'identities.groups.join',
    `INSERT INTO customer_group_memberships (customer_id, group_id, joined_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
     ON CONFLICT (customer_id, group_id) DO UPDATE SET joined_at = EXCLUDED.joined_at
     WHERE EXCLUDED.joined_at < customer_group_memberships.joined_at`,
    [members.map((m) => m.customerId), members.map((m) => m.groupId), members.map((m) => new Date(m.at))],
  );
}
