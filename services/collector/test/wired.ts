/**
 * The collector wired as main.ts wires it, in-process, on real servers: RecordEncoder over a real
 * AvroCodec, BatchingPublisher over the real acks=all producer of producer.ts,
 * SourceCache over the real database with a source of its own. Only the listening is left to the
 * test (inject, or listen on port 0). Keep it in step with main.ts. The producer is the one
 * COLLECTOR_KAFKA_CLIENT names (default @platformatic/kafka, idempotent), as in main.ts.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadCollectorConfig, type CollectorConfig } from '../src/config.js';
import { createCollectorMetrics } from '../src/metrics.js';
import { RecordEncoder } from '../src/encoder.js';
import { SourceCache } from '../src/source-cache.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { createKafka, type Kafka } from '../../shared/src/kafka/client.js';
import { createCollectorProducer, type CollectorProducer } from '../src/producer.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createDb, type Db } from '../../shared/src/pg/gateway.js';
import {
  createSource,
  findSourceByKeyHash,
  revokeSource,
  type Source,
} from '../../shared/src/sources/store.js';
import { logger, randomName } from '../../shared/test/support.js';

export interface WiredCollector {
  app: FastifyInstance;
  config: CollectorConfig;
  kafka: Kafka;
  producer: CollectorProducer;
  publisher: BatchingPublisher;
  codec: AvroCodec;
  source: Source;
  writeKey: string;
  /** Records per flush of the publisher, in order: shows whether concurrent requests were batched. */
  flushes: { records: number; ok: boolean }[];
  /** HTTP Basic with the source's write key, as Segment's SDKs send it. */
  auth: { authorization: string; 'content-type': string };
  close(): Promise<void>;
}

/** `env` overrides the process environment (KAFKA_BROKERS, PRODUCE_TIMEOUT_MS, ...). */
export async function wiredCollector(env: Record<string, string> = {}): Promise<WiredCollector> {
  const config = loadCollectorConfig({ ...process.env, LOG_LEVEL: 'silent', ...env });
  const registry = createRegistry('collector-it');
  const metrics = createCollectorMetrics(registry);
  const db: Db = createDb({
    connectionString: config.databaseUrl,
    service: 'collector-it',
    registry,
    max: 4,
  });
  const closers: (() => Promise<unknown>)[] = [() => db.end()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const created = await createSource(db, randomName('test-collector'));
    // Revoked, not deleted: the records produced here name this source, and processors may read
    // them later.
    closers.push(() => revokeSource(db, created.name));

    // For the test's own reads of the topics (admin, consumers).
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: randomName('collector-it'),
      logger,
      requestTimeoutMs: config.produceTimeoutMs,
      retries: 2,
    });
    const producer = createCollectorProducer(config, logger, randomName('collector-it'));
    await producer.connect();
    closers.push(() => producer.disconnect());

    const codec = new AvroCodec(config.schemaRegistryUrl);
    const encoder = new RecordEncoder(codec, config.topicPrefix);
    await encoder.load();
    const sources = new SourceCache((hash) => findSourceByKeyHash(db, hash), config.sourceCacheTtlMs);
    const flushes: WiredCollector['flushes'] = [];
    const publisher = new BatchingPublisher(producer, {
      lingerMs: config.lingerMs,
      maxBatchRecords: 5_000,
      timeoutMs: config.produceTimeoutMs,
      maxPendingRecords: config.maxPendingEvents,
      maxInFlight: 1,
      onFlush: (records, seconds, ok) => {
        flushes.push({ records, ok });
        metrics.produceSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
        metrics.produceBatchRecords.observe(records);
      },
    });
    closers.push(() => publisher.drain());

    const app = await buildApp(config, {
      logger,
      registry,
      metrics,
      isReady: () => encoder.loaded,
      resolveSource: (key) => sources.resolve(key),
      encode: (o) => encoder.encode(o),
      publish: (records) => publisher.publish(records),
    });
    closers.push(() => app.close());

    const source = { id: created.id, name: created.name };
    const authorization = `Basic ${Buffer.from(`${created.writeKey}:`).toString('base64')}`;
    return {
      app,
      config,
      kafka,
      producer,
      publisher,
      codec,
      source,
      writeKey: created.writeKey,
      flushes,
      auth: { authorization, 'content-type': 'application/json' },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
