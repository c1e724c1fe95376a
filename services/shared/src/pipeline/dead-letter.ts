import type { KafkaMessage } from '../kafka/client.js';
import type { AvroCodec } from '../avro/registry.js';
import type { OutRecord } from '../kafka/batching-publisher.js';
import { dlqTopic, valueSubject } from '../topics.js';
import { readSchemaFile } from '../avro/registry.js';

/**
 * Header a replay (`npm run dlq -- replay`) puts on each record: the processor that dead-lettered
 * it. A topic can have several consumers (cdp.events: the sink and the orders processor); the
 * others skip the replayed copy, so replaying one processor's dead letter never makes another
 * apply the record a second time.
 */
export const REPLAY_FOR_HEADER = 'cdp-replay-for';

/**
 * Builds `<topic>.dlq` records: the original bytes, key, headers, partition and offset with the
 * reason, so a record can be inspected and replayed. The envelope is Avro like everything else.
 */
export class DeadLetters {
  /** Per input topic: each `<topic>.dlq-value` subject has its own id. */
  private readonly schemaIds = new Map<string, number>();

  constructor(
    private readonly codec: AvroCodec,
    private readonly service: string,
  ) {}

  async load(topic: string): Promise<void> {
    this.schemaIds.set(
      topic,
      await this.codec.register(valueSubject(dlqTopic(topic)), await readSchemaFile('dead-letter.avsc')),
    );
  }

  async record(
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: string,
    errors: string[],
  ): Promise<OutRecord> {
    const schemaId = this.schemaIds.get(topic);
    if (schemaId === undefined) throw new Error(`DeadLetters.load(${topic}) was not called`);
    const headers = Object.entries(message.headers ?? {}).flatMap(([key, v]) =>
      (Array.isArray(v) ? v : [v]).map((value) => ({
        key,
        value: value === undefined ? null : Buffer.from(value),
      })),
    );
    const value = {
      originalTopic: topic,
      partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp) || null,
      key: message.key ?? null,
      headers,
      payload: message.value ?? null,
      reason,
      errors: errors.map((e) => e.slice(0, 2_000)),
      attempts: 1,
      service: this.service,
      failedAt: Date.now(),
    };
    return {
      topic: dlqTopic(topic),
      key: message.key?.toString('utf8') ?? null,
      value: await this.codec.encode(schemaId, value),
    };
  }
}
