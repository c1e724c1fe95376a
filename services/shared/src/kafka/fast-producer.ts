/**
 * The only module that imports @platformatic/kafka: a producer for hot paths (the collector), to
 * which BatchingPublisher hands its batches. Measured here, it costs a third to a half of
 * kafkajs's CPU per record (bench/README.md); kafkajs stays the client for consumers and admin
 * (client.ts), where it is the better tool.
 *
 * What this wrapper adds to the library's producer, so that a 200 means "written":
 * - One send at a time. The library takes an idempotent batch's sequence numbers from a
 *   per-partition counter that it advances only when the batch is acknowledged, so two batches in
 *   flight to one partition would carry the same numbers, and the broker would take the second
 *   for a duplicate of the first: acknowledged, not written.
 * - After any failed send, a new producer id before the next one. A batch that timed out may still
 *   be written (a hung broker that resumes), but its sequence numbers were not advanced; the next
 *   batch with the same numbers (same partition, same count: the case that caught kafkajs's
 *   idempotent producer) would be dropped as its duplicate while acknowledged. Under a new
 *   producer id the numbers start afresh and nothing is mistaken for anything. The timed-out
 *   batch itself may then be in Kafka although its caller heard 503: a duplicate for the
 *   processors to drop by messageId, as for any client retry.
 * - The partitioner of the Java client and of kafkajs's DefaultPartitioner (murmur2 of the key,
 *   masked positive, modulo the partition count), so a customer's records land on the partition
 *   where other producers put them; records without a key go round-robin.
 */
import {
  Producer as PlatformaticProducer,
  compatibilityPartitioner,
  type MessageToProduce,
} from '@platformatic/kafka';
import type { Logger } from '../logger.js';
import type { BatchSender, ProduceBatch } from './batching-publisher.js';

export interface FastProducerOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** One request's time limit (connection request timeout), ms. */
  requestTimeoutMs: number;
  /** Retries of one send inside the library before it fails. */
  retries: number;
  /** Idempotent producer (acks=all either way). */
  idempotent: boolean;
}

type Msg = MessageToProduce<Buffer, Buffer, string, string>;

export class FastProducer implements BatchSender {
  private readonly producer: PlatformaticProducer<Buffer, Buffer, string, string>;
  private chain: Promise<unknown> = Promise.resolve();
  private renewProducerId = false;
  private connected = false;
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly opts: FastProducerOptions) {
    this.producer = new PlatformaticProducer<Buffer, Buffer, string, string>({
      clientId: opts.clientId,
      bootstrapBrokers: opts.brokers,
      idempotent: opts.idempotent,
      acks: -1,
      // The broker-side produce timeout, and the client's own wait for any one request.
      timeout: opts.requestTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      connectTimeout: 3_000,
      retries: opts.retries,
      retryDelay: 100,
      autocreateTopics: false,
      partitioner: (message, key) =>
        key === undefined ? this.nextRoundRobin(message.topic) : compatibilityPartitioner(message, key),
    });
    const log = opts.logger.child({ component: 'platformatic-kafka' });
    this.producer.on('client:broker:connect', () => (this.connected = true));
    this.producer.on('client:broker:disconnect', () => (this.connected = false));
    this.producer.on('client:broker:failed', (e: unknown) => {
      this.connected = false;
      log.warn(
        { err: { message: (e as { error?: Error })?.error?.message } },
        'kafka broker connection failed',
      );
    });
  }

  /** Reaches the cluster (a metadata request), so start-up fails while Kafka is down. */
  async connect(): Promise<void> {
    await this.producer.metadata({ topics: [] });
    this.connected = true;
    if (this.opts.idempotent) await this.producer.initIdempotentProducer({});
  }

  /** Whether a connection to the cluster is up (readiness). */
  isConnected(): boolean {
    return this.connected && this.producer.isConnected();
  }

  sendBatch(batch: ProduceBatch): Promise<void> {
    const run = async () => {
      if (this.renewProducerId) {
        await this.producer.initIdempotentProducer({});
        this.renewProducerId = false;
      }
      const messages: Msg[] = [];
      for (const { topic, messages: list } of batch.topicMessages) {
        for (const m of list) {
          messages.push({
            topic,
            key: m.key === null ? undefined : Buffer.from(m.key),
            value: m.value,
            ...(m.headers ? { headers: m.headers } : {}),
          });
        }
      }
      try {
        await this.producer.send({ messages, acks: -1 });
      } catch (err) {
        if (this.opts.idempotent) this.renewProducerId = true;
        throw err;
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => {});
    return next;
  }

  /** Waits for the send in progress, then closes the connections. */
  async disconnect(): Promise<void> {
    await this.chain;
    await this.producer.close();
    this.connected = false;
  }

  private nextRoundRobin(topic: string): number {
    const n = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, (n + 1) % 0x7fffffff);
    return n;
  }
}
