import type { KafkaMessage } from '../kafka/client.js';
import type { Tx } from '../pg/gateway.js';
import type { Step } from './results.js';
import type { Outbox } from './outbox.js';

/** One Kafka record that passed `decode`, as `write` receives it. */
export interface Decoded<T> {
  value: T;
  message: KafkaMessage;
  topic: string;
  partition: number;
  offset: number;
}

/** What `write` may use besides the transaction. */
export interface WriteContext {
  /** Derived records (cdp.customer-changes, ...) written with the change, relayed after COMMIT. */
  outbox: Outbox;
}

/**
 * What a processor is: its topics, how one record becomes a value (or a drop, or a dead letter),
 * and what it writes. Everything else (the consumer group, the transaction that carries the
 * offsets, de-duplication, dead letters, the poison backstop, retries, metrics, /healthz,
 * shutdown, the outbox relay) is the runtime's (run-processor.ts).
 */
export interface ProcessorDefinition<T, C = void> {
  /** Names the process in logs and metrics (`processor` label) and in dead letters. */
  name: string;
  groupId: string;
  /** Input topics, one or more; offsets are kept per topic and partition. */
  topics: readonly string[];
  /** message_dedup.scope: (source, messageId) pairs are unique within it. */
  dedupScope: string;
  /**
   * Decode and map one record. `dlq` sends it to `<topic>.dlq` with the reason; `drop` skips it
   * (counted by reason); anything thrown that is not retryable is treated as a dead letter too.
   * Runs outside the transaction, for records at or past the stored offset only.
   */
  decode(message: KafkaMessage, topic: string): Promise<Step<T>>;
  /** The (source, messageId) of a value, for de-duplication; undefined: never a duplicate. */
  dedupKey?(value: T): { sourceKey: string; messageId: string } | undefined;
  /** When the collector received it (ms), for the receive-to-commit histogram. */
  receivedAt?(value: T): number;
  /** Outside the transaction, before it: e.g. create the partitions the values need. */
  prepare?(values: readonly T[]): Promise<void>;
  /**
   * The work, inside the batch's transaction, on records that are new (past the stored offset and
   * not duplicates), in offset order per partition. Throwing a retryable error retries the batch;
   * a PostgreSQL data error has the runtime find and dead-letter the record that caused it.
   * The result is handed to `committed` only once its transaction committed.
   */
  write(tx: Tx, records: readonly Decoded<T>[], ctx: WriteContext): Promise<C>;
  /** Counts from committed transactions only (bisection retries never count twice). */
  committed?(results: readonly C[]): void;
  /**
   * Work of the processor's own besides its topics (a LISTEN, a periodic pass), started once the
   * runtime is up and stopped after the consumer, before the outbox relay and the pool.
   */
  background?(ctx: BackgroundContext): { stop(): Promise<void> };
}

/** What a processor's background work may use. */
export interface BackgroundContext {
  /** Outbox rows were written outside a batch: relay them now rather than at the next poll. */
  wakeRelay(): void;
}
