import type { Registry } from 'prom-client';
import { AvroCodec } from '../avro/registry.js';
import { clusterId, createKafka, createProducer } from '../kafka/client.js';
import { fenceOffsetsToCluster } from '../pg/offsets.js';
import { registerCodecs } from '../kafka/codecs.js';
import { BatchingPublisher } from '../kafka/batching-publisher.js';
import { createDb, type Db } from '../pg/gateway.js';
import { createLogger, type Logger } from '../logger.js';
import { Lifecycle } from '../lifecycle.js';
import { createRegistry } from '../metrics/registry.js';
import { startOpsServer } from '../http/ops-server.js';
import { retryForever } from '../retry.js';
import { BatchApplier } from './apply-batch.js';
import { DeadLetters } from './dead-letter.js';
import { startDedupPruner } from './dedup-pruner.js';
import { OutboxRelay } from './outbox-relay.js';
import { startPartitionConsumer } from './partition-consumer.js';
import type { ProcessorConfig } from './processor-config.js';
import type { ProcessorDefinition } from './processor.js';
import { createProcessorMetrics } from './processor-metrics.js';

/** What a processor's factory gets from the runtime. */
export interface ProcessorDeps {
  db: Db;
  codec: AvroCodec;
  logger: Logger;
  /** Register the processor's own metrics here; it carries the `processor` label. */
  registry: Registry;
}

/**
 * Runs a processor as its own process: /healthz, /readyz and /metrics on its port, one PostgreSQL
 * pool, a Kafka consumer group over its topics, dead letters, the outbox relay, the dedup pruner,
 * and one shutdown path (SIGTERM lets the batch in progress commit, then stops the rest).
 * Dependencies that are down at start are waited for, never a reason to exit.
 */
export async function runProcessor<T, C>(
  name: string,
  config: ProcessorConfig,
  build: (deps: ProcessorDeps) => ProcessorDefinition<T, C> | Promise<ProcessorDefinition<T, C>>,
): Promise<void> {
  const logger = createLogger(name, config.logLevel);
  const lifecycle = new Lifecycle(logger);
  lifecycle.installSignalHandlers();
  registerCodecs();

  const registry = createRegistry(name);
  registry.setDefaultLabels({ service: name, processor: name });
  const metrics = createProcessorMetrics(registry);
  let consuming = false;
  const ops = await startOpsServer({
    port: config.port,
    registry,
    isHealthy: () => !lifecycle.isStopping,
    isReady: () => consuming && !lifecycle.isStopping,
  });
  lifecycle.onStop('ops-server', () => ops.close());
  const db = createDb({
    connectionString: config.databaseUrl,
    service: name,
    // `<processor>/<pid>`: which instance holds a session is visible in pg_stat_activity.
    applicationName: `${name}/${process.pid}`,
    registry,
    max: config.concurrency + 3,
  });
  lifecycle.onStop('postgres', () => db.end());

  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `cdp-${name}`, logger });
  // Not idempotent: kafkajs can acknowledge a record the broker dropped as a duplicate (see the
  // collector's main.ts). A dead letter twice is harmless; an outbox record twice carries the same
  // change id, which consumers de-duplicate on.
  const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
  lifecycle.onStop('kafka-producer', () => producer.disconnect());
  // Two publishers on one producer, so a dead letter never shares a produce request with outbox
  // records (a topic Kafka refuses fails its whole request).
  const publisherOptions = { lingerMs: 0, maxBatchRecords: 1_000, timeoutMs: 30_000 };
  const deadLetterPublisher = new BatchingPublisher(producer, publisherOptions);
  const publish = deadLetterPublisher.publish.bind(deadLetterPublisher);
  const relayPublisher = new BatchingPublisher(producer, publisherOptions);

  const codec = new AvroCodec(config.schemaRegistryUrl);
  const deadLetters = new DeadLetters(codec, name);
  const stopped = () => lifecycle.isStopping;
  await retryForever('kafka producer connect', () => producer.connect(), logger, stopped);
  const definition = await retryForever(
    `${name} start`,
    async () => build({ db, codec, logger, registry }),
    logger,
    stopped,
  );
  if (!definition) return;
  for (const topic of definition.topics) {
    await retryForever('dead-letter schema', () => deadLetters.load(topic), logger, stopped);
  }

  // FAULT_KILL_AROUND_RELAY (tests only): die like kill -9 right after a commit that wrote outbox
  // rows (1), or between the relay's produce and its delete (2); the next start must publish them.
  const killSelf = () => process.kill(process.pid, 'SIGKILL');
  const dieBeforeRelay = config.faultKillAroundRelay === 1;
  const relay = new OutboxRelay({
    db,
    producer: name,
    publish: relayPublisher.publish.bind(relayPublisher),
    logger,
    onRelayed: (n) => metrics.outboxRelayed.inc(n),
    onPending: (n) => metrics.outboxPending.set(n),
    onDeadLettered: (n) => metrics.outboxDeadLettered.inc(n),
    ...(config.faultKillAroundRelay === 2 ? { afterPublish: killSelf } : {}),
  });
  if (!dieBeforeRelay) relay.start();
  lifecycle.onStop('outbox-relay', () => relay.stop());

  if (definition.background) {
    const background = definition.background({ wakeRelay: () => relay.wake() });
    lifecycle.onStop(`${name}-background`, () => background.stop());
  }

  const pruner = startDedupPruner(db, config.dedupRetentionDays, logger);
  lifecycle.onStop('dedup-pruner', async () => pruner.stop());

  // Offsets stored for another Kafka cluster would skip this one's records: reset them first.
  const cluster = await retryForever('kafka cluster id', () => clusterId(kafka), logger, stopped);
  if (cluster === undefined) return;
  const reset = await retryForever(
    'offsets of this cluster',
    () => fenceOffsetsToCluster(db, definition.groupId, cluster),
    logger,
    stopped,
  );
  if (reset)
    logger.warn(
      { group: definition.groupId, partitions: reset, cluster },
      'stored offsets belonged to another Kafka cluster; reset to 0 (message de-duplication drops what was applied)',
    );

  const applier = new BatchApplier({
    db,
    definition,
    deadLetters,
    publish,
    metrics,
    logger,
    onOutboxWritten: dieBeforeRelay ? killSelf : () => relay.wake(),
    faultPauseBeforeCommitMs: config.faultPauseBeforeCommitMs,
    kafkaClusterId: cluster,
  });
  const consumer = await retryForever(
    'kafka consumer start',
    () =>
      startPartitionConsumer({
        kafka,
        groupId: definition.groupId,
        topics: definition.topics,
        logger,
        handle: (batch) => applier.handle(batch),
        storedOffsets: (topic) => applier.storedOffsets(topic),
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
  // Stopped first: stop fetching and let the batch in progress commit; then the relay sends what
  // it wrote, then the producer and the pool close.
  lifecycle.onStop('kafka-consumer', async () => consumer?.stop());
  consuming = true;
  logger.info({ port: ops.port, group: definition.groupId, topics: definition.topics }, `${name} consuming`);
}
