import { customerChangeFeed } from '../../shared/src/customers/change.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import type { ProcessorDeps } from '../../shared/src/pipeline/run-processor.js';
import { EARLIEST_EVENT_MS } from '../../shared/src/time/occurred-at.js';
import { Topics } from '../../shared/src/topics.js';
import type { WriteCounts } from './batch-state.js';
import type { IdentitiesConfig } from './config.js';
import { mapIdentityRecord, type IdentityInput } from './mapping/identity-input.js';
import type { IdentityRecord } from './mapping/identity-record.js';
import { createIdentitiesMetrics } from './metrics.js';
import { writeIdentities } from './write-batch.js';

export const NAME = 'identities';

/**
 * The identities processor: cdp.identities (identify, alias, group) -> customer profiles,
 * customer_identities and merges, customer_groups; what changed goes to cdp.customer-changes
 * through the outbox. Registers the customer-change schema first (idempotent), so it is async.
 */
export async function createIdentitiesProcessor(
  deps: ProcessorDeps,
  config: Pick<IdentitiesConfig, 'groupId' | 'topicPrefix' | 'maxFutureMs'>,
): Promise<ProcessorDefinition<IdentityInput, WriteCounts>> {
  const feed = await customerChangeFeed(deps.codec, config.topicPrefix, NAME);
  const metrics = createIdentitiesMetrics(deps.registry);
  const limits = { maxFutureMs: config.maxFutureMs, earliestMs: EARLIEST_EVENT_MS };
  const writeDeps = { changes: feed };

  return {
    name: NAME,
    groupId: config.groupId,
    topics: [config.topicPrefix + Topics.identities],
    dedupScope: NAME,

    // Tombstones never get here: the runtime dead-letters them (`undecodable`), as it does the
    // codec's PoisonError for bytes that are not Avro of a registered schema (with its reason).
    async decode(message) {
      return mapIdentityRecord(await deps.codec.decode<IdentityRecord>(message.value!), limits);
    },

    dedupKey: (v) => ({ sourceKey: v.sourceKey, messageId: v.messageId }),
    receivedAt: (v) => v.receivedAt,
    write: (tx, records, ctx) => writeIdentities(tx, records, ctx, writeDeps),
    committed: (results) => metrics.count(results),
  };
}
