import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { Db, Tx } from '../../shared/src/pg/gateway.js';
import type { ProcessorDefinition } from '../../shared/src/pipeline/processor.js';
import { ok } from '../../shared/src/pipeline/results.js';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import type { TimeLimits } from '../../shared/src/time/occurred-at.js';
import { mapEventRow, type EventRow } from './mapping/event-row.js';
import type { EventRecord } from './mapping/event-record.js';
import { COPY_SQL, copyLine } from './copy-text.js';
import { COPY_BINARY_SQL, copyBinary } from './copy-binary.js';
import { PartitionCache } from './partitions.js';
import type { SinkMetrics } from './metrics.js';
import { recordActivity } from './customer-activity.js';
import { updateCustomerMetrics } from '../../shared/src/customers/metrics/incremental.js';
import { lockCustomerRows } from '../../shared/src/customers/metrics/store.js';
import { changeRecords, type ChangeFeed } from '../../shared/src/customers/change.js';
import type { WriteContext } from '../../shared/src/pipeline/processor.js';

export interface SinkDeps {
  db: Db;
  codec: AvroCodec;
  metrics: SinkMetrics;
  groupId: string;
  topic: string;
  limits: TimeLimits;
  copyFormat?: 'text' | 'binary';
  /**
   * Keep the customers' event metrics (page views, sessions, first/last seen, scores) in the same
   * transaction, publishing what changed on `changes`. Off only to measure what it costs: the
   * metrics then drift from the events (invariant 2) until `npm run customers:recompute`.
   */
  customerMetrics?: { changes: ChangeFeed | null } | false;
}

export const DEDUP_SCOPE = 'events';

export interface SinkValue {
  row: EventRow;
  receivedAt: number;
}

interface Copied {
  rows: number;
  seconds: number;
  occurredAt: number[];
}

/**
 * cdp.events -> customer_events, as a processor on the shared runtime (pipeline/run-processor.ts),
 * which owns the exactly-once protocol: offsets in the same transaction, (source, messageId)
 * de-duplication, dead letters and the poison backstop. The sink's own part: map each record to a
 * row, make sure its month's partition exists, resolve customers and COPY the rows in.
 */
export function createEventSink(deps: SinkDeps): ProcessorDefinition<SinkValue, Copied> {
  const { codec, metrics, limits } = deps;
  const partitions = new PartitionCache(deps.db);
  return {
    name: 'event-sink',
    groupId: deps.groupId,
    topics: [deps.topic],
    dedupScope: DEDUP_SCOPE,

    // Tombstones, undecodable bytes and a mapping that throws are the runtime's to dead-letter.
    async decode(message) {
      const record = await codec.decode<EventRecord>(message.value!);
      const mapped = mapEventRow(record, limits);
      if (!mapped.ok) return mapped;
      for (const column of mapped.value.truncated) metrics.truncated.inc({ column });
      return ok({ row: mapped.value.row, receivedAt: record.receivedAt });
    },
    dedupKey: ({ row }) => ({ sourceKey: row.sourceKey, messageId: row.messageId }),
    receivedAt: (v) => v.receivedAt,
    prepare: (values) => partitions.ensure(values.map((v) => v.row.occurredAt)),

    async write(tx, records, ctx) {
      return copyRows(
        tx,
        records.map((r) => r.value.row),
        deps.copyFormat ?? 'text',
        deps.customerMetrics === false ? null : { ctx, changes: deps.customerMetrics?.changes ?? null },
      );
    },

    committed(results) {
      const now = Date.now();
      let rows = 0;
      let seconds = 0;
      for (const r of results) {
        rows += r.rows;
        seconds += r.seconds;
        for (const t of r.occurredAt) metrics.eventTimeLag.observe(Math.max(0, now - t) / 1000);
      }
      metrics.rowsWritten.inc(rows);
      if (seconds > 0) metrics.copyRowsPerSecond.set(rows / seconds);
    },
  };
}

/** Customer resolution, the COPY and the customers' metrics, inside the batch's transaction. */
async function copyRows(
  tx: Tx,
  rows: EventRow[],
  format: 'text' | 'binary',
  metrics: { ctx: WriteContext; changes: ChangeFeed | null } | null,
): Promise<Copied> {
  const customers = await resolveCustomers(
    tx,
    rows.map((row) => ({
      externalId: row.externalId,
      identityType: row.identityType,
      seenAt: row.occurredAt,
    })),
  );
  // The customers' rows before the COPY, in id order: the COPY's foreign-key checks then take
  // key-share locks on rows this transaction already holds, so it never waits for a row lock while
  // holding one another writer (a merge) needs.
  const before = metrics ? await lockCustomerRows(tx, [...new Set(customers.values())]) : undefined;
  const started = process.hrtime.bigint();
  const resolved = rows.map((row) => ({ row, customerId: customers.get(row.externalId)! }));
  const copied =
    format === 'binary'
      ? await tx.copyFrom('sink.copy', COPY_BINARY_SQL, copyBinary(resolved))
      : await tx.copyFrom(
          'sink.copy',
          COPY_SQL,
          resolved.map(({ row, customerId }) => copyLine(row, customerId)),
        );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (metrics) {
    const activity = await recordActivity(tx, resolved);
    const changes = await updateCustomerMetrics(tx, [...activity.events.keys()], {
      asOfMs: Date.now(),
      events: activity.events,
      newDays: activity.newDays,
      // The COPY and the helper tables touch no customers row: the rows locked before are current.
      ...(before ? { before, beforeIsCurrent: true } : {}),
    });
    if (metrics.changes) {
      await metrics.ctx.outbox.add(
        changeRecords(metrics.changes, changes, (id) => activity.causedAt.get(id)!),
      );
    }
  }
  return {
    rows: copied,
    seconds,
    occurredAt: rows.map((r) => r.occurredAt.getTime()),
  };
}
