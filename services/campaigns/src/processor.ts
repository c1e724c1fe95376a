/**
 * The campaigns processor as the runtime runs it (run-processor.ts): cdp.campaign-events -> sends,
 * conversions and counters. Building it has no side effects; tests call `write`.
 *
 * No dedupKey: campaign_send_events keeps every (source, messageId) applied, for ever, so a
 * provider's webhook retried after DEDUP_RETENTION_DAYS still counts once (write-events.ts).
 */
import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { Queryable } from '../../shared/src/pg/gateway.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import { dlq, type Step } from '../../shared/src/pipeline/results.js';
import type { ProcessorDeps } from '../../shared/src/pipeline/run-processor.js';
import { EARLIEST_EVENT_MS, type TimeLimits } from '../../shared/src/time/occurred-at.js';
import { Topics } from '../../shared/src/topics.js';
import { CampaignDirectory } from './campaign-directory.js';
import type { CampaignsConfig } from './config.js';
import type { ChangeFeed } from '../../shared/src/customers/change.js';
import { mapCampaignEvent, type CampaignEvent, type CampaignEventRecord } from './mapping/campaign-event.js';
import { countCommitted, createCampaignsMetrics } from './metrics.js';
import { writeCampaignEvents, type WriteCounts } from './write-events.js';

export const UNKNOWN_CAMPAIGN = 'unknown-campaign';

export function createCampaignsProcessor(
  deps: Pick<ProcessorDeps, 'codec' | 'registry'> & { db: Queryable },
  config: Pick<
    CampaignsConfig,
    'groupId' | 'topicPrefix' | 'maxFutureMs' | 'campaignCacheTtlMs' | 'lateAfterMs'
  >,
  /** cdp.customer-changes, for customers a provider's event names first (customerChangeFeed). */
  changes: ChangeFeed | null = null,
): ProcessorDefinition<CampaignEvent, WriteCounts> {
  const metrics = createCampaignsMetrics(deps.registry);
  const limits: TimeLimits = { maxFutureMs: config.maxFutureMs, earliestMs: EARLIEST_EVENT_MS };
  const directory = new CampaignDirectory(deps.db, config.campaignCacheTtlMs);

  return {
    name: 'campaigns',
    groupId: config.groupId,
    topics: [config.topicPrefix + Topics.campaignEvents],
    dedupScope: 'campaigns',
    decode: (message) => decodeCampaignEvent(deps.codec, directory, message.value!, limits),
    receivedAt: (e) => e.receivedAt,
    write: (tx, records, ctx) =>
      writeCampaignEvents(
        tx,
        records.map((r) => r.value),
        { lateAfterMs: config.lateAfterMs, outbox: ctx.outbox, changes },
      ),
    committed: (results) => countCommitted(metrics, results),
  };
}

/** One record's bytes -> a campaign event, or a dead letter (an unknown campaign among the reasons). */
export async function decodeCampaignEvent(
  codec: AvroCodec,
  directory: CampaignDirectory,
  bytes: Buffer,
  limits: TimeLimits,
): Promise<Step<CampaignEvent>> {
  const value: unknown = await codec.decode(bytes);
  if (typeof value !== 'object' || value === null) return dlq('schema-invalid', 'the value is not a record');
  const mapped = mapCampaignEvent(value as CampaignEventRecord, limits);
  if (!mapped.ok) return mapped;
  if (!(await directory.exists(mapped.value.campaignId)))
    return dlq(UNKNOWN_CAMPAIGN, `campaign_id ${mapped.value.campaignId} is not in campaigns`);
  return mapped;
}
