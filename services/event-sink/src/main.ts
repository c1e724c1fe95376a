/** The event sink process: cdp.events -> customer_events, exactly once. Wiring only. */
import { loadSinkConfig } from './config.js';
import { EARLIEST_EVENT_MS } from '../../shared/src/time/occurred-at.js';
import { EventSink } from './sink.js';
import { createSinkMetrics } from './metrics.js';
import { configOrExit } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { Lifecycle } from '../../shared/src/lifecycle.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { startOpsServer } from '../../shared/src/http/ops-server.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { createKafka, createProducer } from '../../shared/src/kafka/client.js';
import { registerCodecs } from '../../shared/src/kafka/codecs.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { DeadLetters } from '../../shared/src/pipeline/dead-letter.js';
import { startPartitionConsumer } from '../../shared/src/pipeline/partition-consumer.js';
import { startDedupPruner } from '../../shared/src/pipeline/dedup-pruner.js';
import { retryForever } from '../../shared/src/retry.js';

const config = configOrExit('event-sink', () => loadSinkConfig(process.env));

const logger = createLogger('event-sink', config.logLevel);
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();
registerCodecs();

const registry = createRegistry('event-sink');
const metrics = createSinkMetrics(registry);
let consuming = false;
const ops = await startOpsServer({
  port: config.port,
  registry,
  isHealthy: () => !lifecycle.isStopping,
  isReady: () => consuming && !lifecycle.isStopping,
});
lifecycle.onStop('ops-server', () => ops.close());
lifecycle.onStop('postgres', async () => db.end());
const db = createDb({
  connectionString: config.databaseUrl,
  service: 'event-sink',
  registry,
  max: config.concurrency + 2,
});

const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'cdp-event-sink', logger });
// Not idempotent, for the reason given in the collector's main.ts: kafkajs can acknowledge a
// dead letter that the broker dropped as a duplicate; a dead letter written twice is harmless.
const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
lifecycle.onStop('kafka-producer', () => producer.disconnect());
const publisher = new BatchingPublisher(producer, { lingerMs: 0, maxBatchRecords: 1_000, timeoutMs: 30_000 });

const codec = new AvroCodec(config.schemaRegistryUrl);
const deadLetters = new DeadLetters(codec, 'event-sink');
const sink = new EventSink({
  db,
  codec,
  deadLetters,
  publish: (records) => publisher.publish(records),
  metrics,
  logger,
  groupId: config.groupId,
  limits: { maxFutureMs: config.maxFutureMs, earliestMs: EARLIEST_EVENT_MS },
  faultPauseBeforeCommitMs: config.faultPauseBeforeCommitMs,
  copyFormat: config.copyFormat,
});

const stopped = () => lifecycle.isStopping;
await retryForever('kafka producer connect', () => producer.connect(), logger, stopped);
await retryForever('dead-letter schema', () => deadLetters.load(config.topic), logger, stopped);

const pruner = startDedupPruner(db, config.dedupRetentionDays, logger);
lifecycle.onStop('dedup-pruner', async () => pruner.stop());

const consumer = await retryForever(
  'kafka consumer start',
  () =>
    startPartitionConsumer({
      kafka,
      groupId: config.groupId,
      topic: config.topic,
      logger,
      handle: (batch) => sink.handle(batch),
      storedOffsets: () => sink.storedOffsets(config.topic),
      onFatal: (err) => void lifecycle.shutdown(err),
      onRetry: () => metrics.retries.inc(),
      maxBatchRecords: config.maxBatchRecords,
      maxWaitMs: config.maxWaitMs,
      partitionsConcurrently: config.concurrency,
      sessionTimeoutMs: config.sessionTimeoutMs,
    }),
  logger,
  stopped,
);
// Stopped first: stop fetching and let the batch in progress commit; then the producer and pool.
lifecycle.onStop('kafka-consumer', async () => consumer?.stop());
consuming = true;
logger.info({ port: ops.port, group: config.groupId }, 'event sink consuming');
