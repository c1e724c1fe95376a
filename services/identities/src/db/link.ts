import { RetryableError } from '../../../shared/src/errors.js';
import type { Queryable } from '../../../shared/src/pg/gateway.js';
import type { BatchState } from '../batch-state.js';
import {
  ensureCustomer,
  knownCustomers,
  linkIdentities,
  lookupIds,
  type IdentityType,
} from './identities.js';
import { adoptCustomer, mergeCustomers } from './merge.js';
import { retryableIfUniqueConflict } from './unique-conflict.js';

export type LinkOutcome =
  | { outcome: 'same' | 'linked' | 'adopted' | 'merged'; customerId: string }
  | { outcome: 'refused'; reason: RefusalReason; customerId: string };

/**
 * Why two ids were not linked. Both reasons are the same rule: a customer never carries two
 * different userIds, so two known profiles are never merged (a shared device, a reused anonymous
 * id, a wrong alias would otherwise fuse two people, and a merge cannot be undone).
 */
export type RefusalReason =
  /** Both ids have a profile and each profile carries a userId. */
  | 'both-known'
  /** The userId is new, but the other id already belongs to a profile with another userId. */
  | 'other-id-belongs-to-another-user';

/** Decisions are re-made when a concurrent writer changed what they rested on; this often at most. */
const MAX_ATTEMPTS = 5;

/**
 * identify(userId, anonymousId) and alias(previousId -> userId): makes `otherId` resolve to the
 * customer of `userId`. The anonymous profile merges into the known one; a userId without a
 * customer adopts the anonymous profile (renamed); two profiles that each carry a userId are
 * refused and stay apart. Returns where the record's traits go: `userId`'s customer.
 * A unique violation on the way is a concurrent writer's doing, so it retries the batch
 * (unique-conflict.ts) rather than count as the record's data.
 */
export async function linkIds(
  tx: Queryable,
  state: BatchState,
  userId: string,
  otherId: string,
  otherType: Exclude<IdentityType, 'user_id'>,
  seenAt: Date,
): Promise<LinkOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let outcome: LinkOutcome | 'again';
    try {
      outcome = await tryLink(tx, state, userId, otherId, otherType, seenAt);
    } catch (err) {
      throw retryableIfUniqueConflict(err, `linking ${otherType} to a userId`);
    }
    if (outcome !== 'again') return outcome;
  }
  throw new RetryableError(
    `ids kept changing under concurrent writers while linking (${MAX_ATTEMPTS} attempts)`,
  );
}

async function tryLink(
  tx: Queryable,
  state: BatchState,
  userId: string,
  otherId: string,
  otherType: Exclude<IdentityType, 'user_id'>,
  seenAt: Date,
): Promise<LinkOutcome | 'again'> {
  const found = await lookupIds(tx, [userId, otherId]);
  const cu = found.get(userId);
  const co = found.get(otherId);
  const links = (customerId: string) => [
    { externalId: userId, customerId, type: 'user_id' as const },
    { externalId: otherId, customerId, type: otherType },
  ];

  if (co === undefined || co === cu) {
    const customerId = cu ?? (await ensureCustomer(tx, userId, 'user_id', seenAt));
    // False: the other id was linked by a concurrent writer meanwhile; decide with it in view.
    if (!(await linkIdentities(tx, links(customerId)))) return 'again';
    return { outcome: co === undefined ? 'linked' : 'same', customerId };
  }

  const known = await knownCustomers(tx, cu === undefined ? [co] : [cu, co]);
  // Under the locks of a merge or rename: do the ids still resolve as they did, is it still so?
  const stillSo = async () => {
    const now = await lookupIds(tx, [userId, otherId]);
    const knownNow = await knownCustomers(tx, cu === undefined ? [co] : [cu, co]);
    return (
      now.get(userId) === cu &&
      now.get(otherId) === co &&
      knownNow.has(co) === known.has(co) &&
      (cu === undefined || knownNow.has(cu) === known.has(cu))
    );
  };

  if (cu === undefined) {
    if (known.has(co)) {
      const customerId = await ensureCustomer(tx, userId, 'user_id', seenAt);
      return { outcome: 'refused', reason: 'other-id-belongs-to-another-user', customerId };
    }
    if ((await adoptCustomer(tx, state, co, userId, stillSo)) === 'again') return 'again';
    // The rename holds co FOR UPDATE: nobody else links these ids to it or away from it now.
    if (!(await linkIdentities(tx, links(co))))
      throw new RetryableError('an id was linked elsewhere while its customer was being renamed');
    return { outcome: 'adopted', customerId: co };
  }

  if (known.has(cu) && known.has(co)) return { outcome: 'refused', reason: 'both-known', customerId: cu };
  // The known one survives; of two anonymous ones, the customer of the record's userId.
  const [survivor, merged] = known.has(co) ? [co, cu] : [cu, co];
  if ((await mergeCustomers(tx, state, survivor, merged, stillSo)) === 'again') return 'again';
  if (!(await linkIdentities(tx, links(survivor))))
    throw new RetryableError('an id was linked elsewhere while its customers were being merged');
  return { outcome: 'merged', customerId: survivor };
}
