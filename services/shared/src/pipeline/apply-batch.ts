import type { KafkaMessage } from '../kafka/client.js';
import type { OutRecord } from '../kafka/batching-publisher.js';
import type { Db, Tx } from '../pg/gateway.js';
import type { Logger } from '../logger.js';
import { PoisonError, isRetryable } from '../errors.js';
import { readOffsets } from '../pg/offsets.js';
import { sleep } from '../retry.js';
import { appliedOffset } from './applied-offset.js';
import { commitPartitionBatch, REFUSED_BY_DATABASE } from './commit-batch.js';
import { REPLAY_FOR_HEADER, type DeadLetters } from './dead-letter.js';
import { dropDuplicates } from './dedup.js';
import { transactionOutbox, type Outbox } from './outbox.js';
import type { PartitionBatch } from './partition-consumer.js';
import type { Decoded, ProcessorDefinition } from './processor.js';
import type { ProcessorMetrics } from './processor-metrics.js';
import type { Step } from './results.js';

export interface ApplierDeps<T, C> {
  db: Db;
  definition: ProcessorDefinition<T, C>;
  deadLetters: DeadLetters;
  /** Produces records (dead letters) and resolves once Kafka acknowledged them. */
  publish: (records: OutRecord[]) => Promise<void>;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** After a COMMIT that wrote outbox rows: wakes the relay. */
  onOutboxWritten?: () => void;
  faultPauseBeforeCommitMs?: number;
  /** The Kafka cluster's id, stored with each new offset row. */
  kafkaClusterId?: string | null;
}

/** How often the offset of a partition whose batches are all skipped records is stored. */
const SKIPPED_OFFSET_EVERY_MS = 5_000;

interface Poison {
  message: KafkaMessage;
  reason: string;
  errors: string[];
}

interface Written<C> {
  result?: C;
  applied: number;
  duplicates: number;
  outboxed: number;
}

/**
 * Applies one partition batch exactly once, for any processor: records below the offset stored
 * with earlier batches are skipped before any work; the rest are decoded (poison goes to the
 * dead-letter topic, acknowledged before anything commits); then in ONE transaction the offset row
 * is locked, records not seen before by (source, messageId) are handed to the processor's `write`,
 * and the offset advances past the batch. A crash before COMMIT leaves no trace; after it, nothing
 * is redone. Should PostgreSQL still refuse a record because of its data, the shared backstop finds
 * it, dead-letters it and commits the rest (isolate-bad-records.ts).
 */
export class BatchApplier<T, C> {
  /** When each partition's offset was last stored, for batches with nothing to write. */
  private readonly storedAt = new Map<string, number>();

  constructor(private readonly deps: ApplierDeps<T, C>) {}

  storedOffsets(topic: string): Promise<Map<number, number>> {
    return readOffsets(this.deps.db, this.deps.definition.groupId, topic);
  }

  async handle(batch: PartitionBatch): Promise<void> {
    const { db, metrics, definition: def } = this.deps;
    const started = process.hrtime.bigint();
    const { topic, partition } = batch;
    const lastOffset = Number(batch.messages[batch.messages.length - 1]!.offset);

    const applied = await appliedOffset(db, def.groupId, batch, this.deps.logger);
    const fresh = batch.messages.filter((m) => Number(m.offset) >= applied);
    metrics.duplicates.inc({ kind: 'offset' }, batch.messages.length - fresh.length);
    if (fresh.length === 0) return;

    const decoded: Decoded<T>[] = [];
    const poison: Poison[] = [];
    for (const message of fresh) {
      const step = await this.decode(message, topic);
      if (step.ok) {
        decoded.push({ value: step.value, message, topic, partition, offset: Number(message.offset) });
      } else if ('drop' in step) {
        metrics.dropped.inc({ reason: step.reason });
      } else {
        poison.push({ message, reason: step.reason, errors: step.errors });
      }
    }
    const deadLetter = (records: Poison[]) => this.deadLetter(topic, partition, records);
    if (poison.length > 0) await deadLetter(poison);

    // A batch of records that are all another processor's (the orders processor reads every
    // cdp.events record for the few that are orders) has nothing to write: a transaction for its
    // offset alone would cost a commit per batch. The offset is stored with the next write, or
    // every few seconds; until then a restart reads those records again and skips them again.
    const partitionKey = `${topic}\u0000${partition}`;
    if (decoded.length === 0 && poison.length === 0) {
      const last = this.storedAt.get(partitionKey);
      if (last !== undefined && Date.now() - last < SKIPPED_OFFSET_EVERY_MS) {
        metrics.batchRows.observe(batch.messages.length);
        metrics.lag.set({ topic, partition: String(partition) }, batch.lag);
        return;
      }
    }

    if (decoded.length > 0 && def.prepare) await def.prepare(decoded.map((d) => d.value));

    const pause = this.deps.faultPauseBeforeCommitMs;
    const { committed, refused, fenced } = await commitPartitionBatch(
      db,
      { groupId: def.groupId, topic, partition, clusterId: this.deps.kafkaClusterId ?? null },
      decoded,
      lastOffset,
      { offsetOf: (d) => d.offset, messageOf: (d) => d.message, write: (tx, todo) => this.write(tx, todo) },
      { tag: `${def.name}.batch`, deadLetter, ...(pause ? { beforeCommit: () => sleep(pause) } : {}) },
    );

    this.storedAt.set(partitionKey, Date.now());
    if (refused > 0) metrics.batchesSplit.inc();
    // Applied by another instance between our pre-read and our lock (a rebalance's zombie).
    metrics.duplicates.inc({ kind: 'fenced' }, fenced);
    const results: C[] = [];
    let outboxed = 0;
    for (const c of committed) {
      metrics.applied.inc(c.applied);
      metrics.duplicates.inc({ kind: 'message' }, c.duplicates);
      outboxed += c.outboxed;
      if (c.applied > 0) results.push(c.result as C);
    }
    if (results.length > 0) def.committed?.(results);
    if (outboxed > 0) this.deps.onOutboxWritten?.();

    const committedAt = Date.now();
    metrics.batchRows.observe(batch.messages.length);
    metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.lag.set({ topic, partition: String(partition) }, batch.lag);
    if (def.receivedAt) {
      for (const d of decoded) {
        metrics.freshness.observe(Math.max(0, committedAt - def.receivedAt(d.value)) / 1000);
      }
    }
  }

  /** De-duplication and the processor's write, inside the batch's transaction. */
  private async write(tx: Tx, todo: Decoded<T>[]): Promise<Written<C>> {
    const { definition: def } = this.deps;
    const unique = def.dedupKey
      ? await dropDuplicates(tx, def.dedupScope, todo, (d) => def.dedupKey!(d.value))
      : todo;
    const duplicates = todo.length - unique.length;
    if (unique.length === 0) return { applied: 0, duplicates, outboxed: 0 };
    const outbox = countingOutbox(transactionOutbox(tx, def.name));
    const result = await def.write(tx, unique, { outbox });
    return { result, applied: unique.length, duplicates, outboxed: outbox.count() };
  }

  /**
   * One record's decode. A step that throws for this record's content (anything but a dependency
   * outage) dead-letters the record instead of stopping the process.
   */
  private async decode(message: KafkaMessage, topic: string): Promise<Step<T>> {
    const replayFor = message.headers?.[REPLAY_FOR_HEADER];
    if (replayFor !== undefined && String(replayFor) !== this.deps.definition.name)
      return { ok: false, drop: true, reason: 'replayed-for-another-processor' };
    if (!message.value)
      return { ok: false, reason: 'undecodable', errors: ['record has no value (tombstone)'] };
    try {
      return await this.deps.definition.decode(message, topic);
    } catch (err) {
      if (err instanceof PoisonError) return { ok: false, reason: err.reason, errors: [err.message] };
      if (isRetryable(err)) throw err;
      this.deps.logger.error(
        { topic, offset: message.offset, err: { message: (err as Error).message } },
        'decoding threw for one record; dead-lettering it',
      );
      return { ok: false, reason: 'mapping-failed', errors: [(err as Error).message] };
    }
  }

  /** Dead letters of one partition, counted by reason once Kafka acknowledged them. */
  private async deadLetter(topic: string, partition: number, records: Poison[]): Promise<void> {
    const envelopes = await Promise.all(
      records.map((r) => this.deps.deadLetters.record(topic, partition, r.message, r.reason, r.errors)),
    );
    await this.deps.publish(envelopes);
    for (const r of records) {
      if (r.reason === REFUSED_BY_DATABASE)
        this.deps.logger.warn(
          { topic, partition, offset: r.message.offset, sqlstate: r.errors[0]?.slice(0, 5) },
          'PostgreSQL refused a record because of its data; dead-lettered it, the rest of the batch commits',
        );
      this.deps.metrics.deadLettered.inc({ reason: r.reason });
    }
  }
}

function countingOutbox(inner: Outbox): Outbox & { count(): number } {
  let n = 0;
  return {
    async add(records) {
      await inner.add(records);
      n += records.length;
    },
    count: () => n,
  };
}
