/**
 * The orders processor as the runtime runs it (run-processor.ts): its topics, how one record
 * becomes an order update, and the write. Building it has no side effects; tests call `write`.
 */
import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import { dlq, drop, type Step } from '../../shared/src/pipeline/results.js';
import type { ProcessorDeps } from '../../shared/src/pipeline/run-processor.js';
import { EARLIEST_EVENT_MS, type TimeLimits } from '../../shared/src/time/occurred-at.js';
import { Topics } from '../../shared/src/topics.js';
import type { OrdersConfig } from './config.js';
import type { ChangeFeed } from '../../shared/src/customers/change.js';
import type { OrderUpdate } from './mapping/fields.js';
import { mapOrderRecord, type OrderRecord } from './mapping/order-record.js';
import { isOrderTrack, mapOrderTrack, type EventTrack } from './mapping/order-track.js';
import { countCommitted, createOrdersMetrics } from './metrics.js';
import { writeOrders, type WriteCounts } from './write-orders.js';

export const DEDUP_SCOPE = 'orders';

export function createOrdersProcessor(
  deps: Pick<ProcessorDeps, 'codec' | 'registry'>,
  config: Pick<OrdersConfig, 'groupId' | 'topicPrefix' | 'maxFutureMs'>,
  /** cdp.customer-changes, for the metrics the orders change (customerChangeFeed). */
  changes: ChangeFeed | null = null,
): ProcessorDefinition<OrderUpdate, WriteCounts> {
  const metrics = createOrdersMetrics(deps.registry);
  const limits: TimeLimits = { maxFutureMs: config.maxFutureMs, earliestMs: EARLIEST_EVENT_MS };
  const eventsTopic = config.topicPrefix + Topics.events;
  const ordersTopic = config.topicPrefix + Topics.orders;

  return {
    name: 'orders',
    groupId: config.groupId,
    topics: [ordersTopic, eventsTopic],
    dedupScope: DEDUP_SCOPE,
    // The runtime dead-letters tombstones before calling decode, a thrown PoisonError (bytes that
    // are not Avro: `undecodable`) with its reason, and any other non-retryable throw as
    // `mapping-failed` (apply-batch.ts).
    decode: (message, topic) => decodeOrder(deps.codec, message.value!, topic === eventsTopic, limits),
    dedupKey: (u) => ({ sourceKey: u.sourceKey, messageId: u.messageId }),
    receivedAt: (u) => u.receivedAt,
    write: (tx, records, ctx) =>
      writeOrders(
        tx,
        records.map((r) => r.value),
        { outbox: ctx.outbox, changes },
      ),
    committed: (results) => countCommitted(metrics, results),
  };
}

/**
 * One record's bytes -> an order update. On cdp.events only the three e-commerce tracks are ours;
 * every other event is dropped before its properties are parsed (most of that topic is page views).
 * Bytes the codec cannot decode throw (PoisonError, or RetryableError when the registry is down).
 */
export async function decodeOrder(
  codec: AvroCodec,
  bytes: Buffer,
  isEvents: boolean,
  limits: TimeLimits,
): Promise<Step<OrderUpdate>> {
  const value: unknown = await codec.decode(bytes);
  if (typeof value !== 'object' || value === null) return dlq('schema-invalid', 'the value is not a record');
  if (!isEvents) return mapOrderRecord(value as OrderRecord, limits);
  if (!isOrderTrack(value as EventTrack)) return drop('not-an-order-event');
  return mapOrderTrack(value as EventTrack, limits);
}
