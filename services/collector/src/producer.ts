/**
 * The collector's Kafka producer, behind the one interface BatchingPublisher sends through:
 * `@platformatic/kafka` (fast-producer.ts, idempotent; the default) or kafkajs (not idempotent,
 * see below), chosen by COLLECTOR_KAFKA_CLIENT. Both produce with acks=all; in both a request's
 * time limit is PRODUCE_TIMEOUT_MS, so a produce to a dead broker fails inside the HTTP deadline.
 */
import { createKafka, createProducer } from '../../shared/src/kafka/client.js';
import { FastProducer } from '../../shared/src/kafka/fast-producer.js';
import type { BatchSender } from '../../shared/src/kafka/batching-publisher.js';
import type { Logger } from '../../shared/src/logger.js';
import type { CollectorConfig } from './config.js';

export interface CollectorProducer extends BatchSender {
  readonly client: 'platformatic' | 'kafkajs';
  readonly idempotent: boolean;
  connect(): Promise<void>;
  /** A connection to the cluster is up (readiness). */
  isConnected(): boolean;
  /** After the publisher drained: waits for what is in flight, then closes. */
  disconnect(): Promise<void>;
}

type ProducerConfig = Pick<CollectorConfig, 'kafkaBrokers' | 'produceTimeoutMs' | 'kafkaClient'>;

export function createCollectorProducer(
  config: ProducerConfig,
  logger: Logger,
  clientId = 'cdp-collector',
): CollectorProducer {
  if (config.kafkaClient === 'platformatic') {
    const producer = new FastProducer({
      brokers: config.kafkaBrokers,
      clientId,
      logger,
      requestTimeoutMs: config.produceTimeoutMs,
      retries: 2,
      idempotent: true,
    });
    return {
      client: 'platformatic',
      idempotent: true,
      connect: () => producer.connect(),
      isConnected: () => producer.isConnected(),
      sendBatch: (batch) => producer.sendBatch(batch),
      disconnect: () => producer.disconnect(),
    };
  }

  // The HTTP answer is bounded by PRODUCE_TIMEOUT_MS (the publisher's timer), not by kafkajs: its
  // up to three attempts may each take that long. So a request answered 503 can still reach
  // Kafka later; the client's retry is then a duplicate, which the processors drop by messageId.
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId,
    logger,
    requestTimeoutMs: config.produceTimeoutMs,
    retries: 2,
  });
  // Not idempotent: kafkajs rolls an idempotent producer's sequence numbers back when a produce
  // times out, although the broker may still write that batch (a hung broker resuming). The next
  // batch then reuses those numbers and the broker drops it as a duplicate while acknowledging it:
  // a 200 for records that are not in Kafka. Without idempotence a timed-out batch can at worst be
  // written twice, and duplicates are dropped downstream by messageId, as for any client retry.
  const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));
  return {
    client: 'kafkajs',
    idempotent: false,
    connect: () => producer.connect(),
    isConnected: () => connected,
    sendBatch: (batch) => producer.sendBatch(batch),
    disconnect: () => producer.disconnect(),
  };
}
