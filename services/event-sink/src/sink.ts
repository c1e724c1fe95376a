import type { AvroCodec } from '../../shared/src/avro/registry.js';
import type { KafkaMessage } from '../../shared/src/kafka/client.js';
import type { OutRecord } from '../../shared/src/kafka/batching-publisher.js';
import type { Db, Tx } from '../../shared/src/pg/gateway.js';
import type { Logger } from '../../shared/src/logger.js';
import type { DeadLetters } from '../../shared/src/pipeline/dead-letter.js';
import type { PartitionBatch } from '../../shared/src/pipeline/partition-consumer.js';
import { PoisonError, isRetryable } from '../../shared/src/errors.js';
import { commitPartitionBatch, REFUSED_BY_DATABASE } from '../../shared/src/pipeline/commit-batch.js';
import { sleep } from '../../shared/src/retry.js';
import { dlq, ok, type Result } from '../../shared/src/pipeline/results.js';
import { resolveCustomers } from '../../shared/src/customers/resolve.js';
import { appliedOffset } from '../../shared/src/pipeline/applied-offset.js';
import { readOffsets } from '../../shared/src/pg/offsets.js';
import { mapEventRow, type EventRow } from './mapping/event-row.js';
import type { EventRecord } from './mapping/event-record.js';
import type { TimeLimits } from '../../shared/src/time/occurred-at.js';
import { COPY_SQL, copyLine } from './copy-text.js';
import { COPY_BINARY_SQL, copyBinary } from './copy-binary.js';
import { PartitionCache } from './partitions.js';
import type { SinkMetrics } from './metrics.js';

export interface SinkDeps {
  db: Db;
  codec: AvroCodec;
  deadLetters: DeadLetters;
  publish: (records: OutRecord[]) => Promise<void>;
  metrics: SinkMetrics;
  logger: Logger;
  groupId: string;
  limits: TimeLimits;
  faultPauseBeforeCommitMs?: number;
  copyFormat?: 'text' | 'binary';
}

export const DEDUP_SCOPE = 'events';

interface Mapped {
  message: KafkaMessage;
  offset: number;
  row: EventRow;
  receivedAt: number;
}

/**
 * Applies one partition batch exactly once: poison records go to the dead-letter topic (acknowledged
 * before anything commits), then in ONE transaction the offset row is locked, records at or past
 * the stored offset that are not duplicates by (source, messageId) are COPYed in, and the offset
 * advances past the batch. A crash anywhere before COMMIT leaves no trace; after it, nothing is redone.
 * Should PostgreSQL still refuse a row because of its data, the shared backstop finds it, dead-letters
 * it and commits the rest (pipeline/isolate-bad-records.ts).
 */
export class EventSink {
  private readonly partitions: PartitionCache;

  constructor(private readonly deps: SinkDeps) {
    this.partitions = new PartitionCache(deps.db);
  }

  storedOffsets(topic: string): Promise<Map<number, number>> {
    return readOffsets(this.deps.db, this.deps.groupId, topic);
  }

  async handle(batch: PartitionBatch): Promise<void> {
    const { db, metrics, groupId } = this.deps;
    const started = process.hrtime.bigint();
    const { topic, partition } = batch;
    const lastOffset = Number(batch.messages[batch.messages.length - 1]!.offset);

    const applied = await appliedOffset(db, groupId, batch, this.deps.logger);
    const fresh = batch.messages.filter((m) => Number(m.offset) >= applied);
    metrics.duplicates.inc({ kind: 'offset' }, batch.messages.length - fresh.length);
    if (fresh.length === 0) return;

    const mapped: Mapped[] = [];
    const poison: { message: KafkaMessage; reason: string; errors: string[] }[] = [];
    for (const message of fresh) {
      const result = await this.mapMessage(message);
      if (result.ok) {
        const { row, truncated, receivedAt } = result.value;
        for (const column of truncated) metrics.truncated.inc({ column });
        mapped.push({ message, offset: Number(message.offset), row, receivedAt });
      } else {
        poison.push({ message, reason: result.reason, errors: result.errors });
      }
    }
    const deadLetter = (records: typeof poison) => this.deadLetter(topic, partition, records);
    if (poison.length > 0) await deadLetter(poison);

    await this.partitions.ensure(mapped.map((m) => m.row.occurredAt));

    const pause = this.deps.faultPauseBeforeCommitMs;
    const { committed, refused } = await commitPartitionBatch(
      db,
      { groupId, topic, partition },
      mapped,
      lastOffset,
      { offsetOf: (m) => m.offset, messageOf: (m) => m.message, write: (tx, todo) => this.write(tx, todo) },
      { tag: 'sink.batch', deadLetter, ...(pause ? { beforeCommit: () => sleep(pause) } : {}) },
    );
    if (refused > 0) metrics.batchesSplit.inc();
    let written = 0;
    let copySeconds = 0;
    for (const c of committed) {
      written += c.rows;
      copySeconds += c.seconds;
      metrics.duplicates.inc({ kind: 'message' }, c.duplicates);
    }

    const committedAt = Date.now();
    metrics.rowsWritten.inc(written);
    metrics.batchRows.observe(batch.messages.length);
    metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (copySeconds > 0) metrics.copyRowsPerSecond.set(written / copySeconds);
    metrics.lag.set({ topic, partition: String(partition) }, batch.lag);
    for (const m of mapped) {
      metrics.freshness.observe(Math.max(0, committedAt - m.receivedAt) / 1000);
      metrics.eventTimeLag.observe(Math.max(0, committedAt - m.row.occurredAt.getTime()) / 1000);
    }
  }

  /** Dedup, customer resolution and the COPY of `todo`, inside the batch's transaction. */
  private async write(
    tx: Tx,
    todo: Mapped[],
  ): Promise<{ rows: number; seconds: number; duplicates: number }> {
    const unique = await this.dropDuplicates(tx, todo);
    const duplicates = todo.length - unique.length;
    if (unique.length === 0) return { rows: 0, seconds: 0, duplicates };
    const customers = await resolveCustomers(
      tx,
      unique.map(({ row }) => ({
        externalId: row.externalId,
        identityType: row.identityType,
        seenAt: row.occurredAt,
      })),
    );
    const copyStart = process.hrtime.bigint();
    const resolved = unique.map(({ row }) => ({ row, customerId: customers.get(row.externalId)! }));
    const rows =
      this.deps.copyFormat === 'binary'
        ? await tx.copyFrom('sink.copy', COPY_BINARY_SQL, copyBinary(resolved))
        : await tx.copyFrom(
            'sink.copy',
            COPY_SQL,
            resolved.map(({ row, customerId }) => copyLine(row, customerId)),
          );
    return { rows, seconds: Number(process.hrtime.bigint() - copyStart) / 1e9, duplicates };
  }

  /** Dead letters of one partition, counted by reason once Kafka acknowledged them. */
  private async deadLetter(
    topic: string,
    partition: number,
    records: { message: KafkaMessage; reason: string; errors: string[] }[],
  ): Promise<void> {
    const envelopes = await Promise.all(
      records.map((r) => this.deps.deadLetters.record(topic, partition, r.message, r.reason, r.errors)),
    );
    await this.deps.publish(envelopes);
    for (const r of records) {
      if (r.reason === REFUSED_BY_DATABASE)
        this.deps.logger.warn(
          { partition, offset: r.message.offset, sqlstate: r.errors[0]?.slice(0, 5) },
          'PostgreSQL refused a record because of its data; dead-lettered it, the rest of the batch commits',
        );
      this.deps.metrics.deadLettered.inc({ reason: r.reason });
    }
  }

  /**
   * Decode and map one record. A step that throws for this record's content (anything but a
   * dependency outage) dead-letters the record instead of stopping the process.
   */
  private async mapMessage(
    message: KafkaMessage,
  ): Promise<Result<{ row: EventRow; truncated: string[]; receivedAt: number }>> {
    if (!message.value) return dlq('undecodable', 'record has no value (tombstone)');
    let record: EventRecord;
    try {
      record = await this.deps.codec.decode<EventRecord>(message.value);
    } catch (err) {
      if (err instanceof PoisonError) return dlq(err.reason, err.message);
      throw err;
    }
    try {
      const mapped = mapEventRow(record, this.deps.limits);
      return mapped.ok ? ok({ ...mapped.value, receivedAt: record.receivedAt }) : mapped;
    } catch (err) {
      if (isRetryable(err)) throw err;
      this.deps.logger.error(
        { offset: message.offset, err: { message: (err as Error).message } },
        'mapping threw for one record; dead-lettering it',
      );
      return dlq('mapping-failed', (err as Error).message);
    }
  }

  /**
   * Drops records whose (source, messageId) was applied before, or appears earlier in this batch.
   * The dedup rows are inserted in the same transaction, so they commit or vanish with the events.
   */
  private async dropDuplicates(tx: Tx, todo: Mapped[]): Promise<Mapped[]> {
    if (todo.length === 0) return todo;
    const firstSeen = new Map<string, Mapped>();
    for (const m of todo) {
      const key = `${m.row.sourceKey}\u0000${m.row.messageId}`;
      if (!firstSeen.has(key)) firstSeen.set(key, m);
    }
    const candidates = [...firstSeen.values()];
    const { rows } = await tx.query<{ source_key: string; message_id: string }>(
      'sink.dedup',
      `INSERT INTO message_dedup (scope, source_key, message_id)
       SELECT $1, s, m FROM unnest($2::text[], $3::text[]) AS t(s, m)
       ON CONFLICT DO NOTHING RETURNING source_key, message_id`,
      [DEDUP_SCOPE, candidates.map((m) => m.row.sourceKey), candidates.map((m) => m.row.messageId)],
    );
    const inserted = new Set(rows.map((r) => `${r.source_key}\u0000${r.message_id}`));
    const unique = candidates.filter((m) => inserted.has(`${m.row.sourceKey}\u0000${m.row.messageId}`));
    return unique;
  }
}
