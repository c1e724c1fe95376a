/**
 * The segments processor as the runtime runs it: cdp.customer-changes -> segment_memberships,
 * and the segments' own lifecycle in the background (full evaluation of new and changed
 * segments, publishing transitions others made, statistics). Building it has no side effects.
 *
 * No dedupKey: a record is applied by reading its customer as it is now, so a record seen again
 * (the relay re-sending after a crash) finds nothing to change; de-duplicating would cost a
 * message_dedup row per record for nothing.
 */
import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { Db } from '../../shared/src/pg/gateway.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import { dlq, ok, type Step } from '../../shared/src/pipeline/results.js';
import type { ProcessorDeps } from '../../shared/src/pipeline/run-processor.js';
import { Topics } from '../../shared/src/topics.js';
import { ActiveSegments } from './active-segments.js';
import { startSegmentsBackground } from './background.js';
import type { SegmentsConfig } from './config.js';
import { updateMemberships, type IncrementalResult } from './incremental.js';
import { createSegmentsMetrics } from './metrics.js';
import type { SegmentChangeFeed } from './publish.js';

/** What the processor needs of a cdp.customer-changes record. */
export interface CustomerChangeRef {
  changeId: string;
  customerId: string;
  /** When the change committed upstream (ms): the start of the change-to-membership delay. */
  committedAt: number;
}

export interface BatchResult extends IncrementalResult {
  /** For each transition, when the change that caused it committed upstream (ms). */
  causedAt: number[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createSegmentsProcessor(
  deps: Pick<ProcessorDeps, 'codec' | 'registry' | 'logger'> & { db: Db },
  config: Pick<
    SegmentsConfig,
    'groupId' | 'topicPrefix' | 'pollMs' | 'queryTimeoutMs' | 'statsIntervalMs' | 'databaseUrl'
  >,
  feed: SegmentChangeFeed,
  /** The clock of memberships' added_at / removed_at and of time-relative criteria. */
  now: () => Date = () => new Date(),
): ProcessorDefinition<CustomerChangeRef, BatchResult> {
  const metrics = createSegmentsMetrics(deps.registry);
  const segments = new ActiveSegments();
  let background: ReturnType<typeof startSegmentsBackground> | undefined;

  return {
    name: 'segments',
    groupId: config.groupId,
    topics: [config.topicPrefix + Topics.customerChanges],
    dedupScope: 'segments',
    decode: (message) => decodeCustomerChange(deps.codec, message.value!),
    write: async (tx, records, ctx) => {
      // The earliest change of each customer in the batch: the delay is measured from it.
      const earliest = new Map<string, number>();
      for (const { value: c } of records)
        earliest.set(c.customerId, Math.min(earliest.get(c.customerId) ?? Infinity, c.committedAt));
      const result = await updateMemberships(tx, [...earliest.keys()], {
        segments,
        feed,
        outbox: ctx.outbox,
        now,
      });
      return { ...result, causedAt: result.transitionCustomers.map((id) => earliest.get(id)!) };
    },
    committed: (results) => {
      const done = Date.now();
      for (const r of results) {
        metrics.transitions.inc({ change: 'entered' }, r.entered);
        metrics.transitions.inc({ change: 'exited' }, r.exited);
        metrics.customersEvaluated.inc(r.customers);
        metrics.published.inc(r.published);
        for (const at of r.causedAt) metrics.changeToMembership.observe(Math.max(0, done - at) / 1000);
        background?.membersChanged(r.segments, r.morePending);
      }
    },
    background: (ctx) => {
      background = startSegmentsBackground({
        db: deps.db,
        feed,
        config,
        logger: deps.logger,
        metrics,
        now,
        wakeRelay: ctx.wakeRelay,
      });
      return background;
    },
  };
}

export async function decodeCustomerChange(
  codec: AvroCodec,
  bytes: Buffer,
): Promise<Step<CustomerChangeRef>> {
  const value = (await codec.decode(bytes)) as Partial<CustomerChangeRef> | null;
  if (typeof value !== 'object' || value === null) return dlq('schema-invalid', 'the value is not a record');
  const { changeId, customerId, committedAt } = value;
  if (typeof customerId !== 'string' || !UUID.test(customerId))
    return dlq('schema-invalid', 'customerId is not a UUID');
  if (typeof changeId !== 'string' || changeId === '') return dlq('schema-invalid', 'changeId is empty');
  return ok({
    changeId,
    customerId,
    committedAt: typeof committedAt === 'number' ? committedAt : Date.now(),
  });
}
