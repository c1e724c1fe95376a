/** The collector process: wires configuration, clients and the app, then listens. */
import { loadCollectorConfig } from './config.js';
import { buildApp } from './app.js';
import { RecordEncoder } from './encoder.js';
import { SourceCache } from './source-cache.js';
import { createCollectorProducer } from './producer.js';
import { createCollectorMetrics } from './metrics.js';
import { createLogger } from '../../shared/src/logger.js';
import { Lifecycle } from '../../shared/src/lifecycle.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { findSourceByKeyHash } from '../../shared/src/sources/store.js';
import { configOrExit } from '../../shared/src/config.js';
import { retryForever } from '../../shared/src/retry.js';

const config = configOrExit('collector', () => loadCollectorConfig(process.env));

const logger = createLogger('collector', config.logLevel);
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();
const registry = createRegistry('collector');
const metrics = createCollectorMetrics(registry);

const db = createDb({ connectionString: config.databaseUrl, service: 'collector', registry, max: 4 });
lifecycle.onStop('postgres', () => db.end());

const producer = createCollectorProducer(config, logger);
logger.info({ client: producer.client, idempotent: producer.idempotent }, 'kafka producer');

const encoder = new RecordEncoder(new AvroCodec(config.schemaRegistryUrl), config.topicPrefix);
const sources = new SourceCache((hash) => findSourceByKeyHash(db, hash), config.sourceCacheTtlMs);

const publisher = new BatchingPublisher(producer, {
  lingerMs: config.lingerMs,
  maxBatchRecords: 5_000,
  timeoutMs: config.produceTimeoutMs,
  maxPendingRecords: config.maxPendingEvents,
  // One produce request at a time; what arrives meanwhile goes together in the next one.
  maxInFlight: 1,
  onFlush: (records, seconds, ok) => {
    metrics.produceSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
    metrics.produceBatchRecords.observe(records);
  },
});

const app = await buildApp(config, {
  logger,
  registry,
  metrics,
  isReady: () => encoder.loaded && producer.isConnected() && !lifecycle.isStopping,
  resolveSource: (key) => sources.resolve(key),
  encode: (o) => encoder.encode(o),
  publish: (records) => publisher.publish(records),
});

lifecycle.onStop('kafka-producer', async () => {
  await publisher.drain();
  await producer.disconnect();
});
// Registered last, so stopped first: stop accepting, finish in-flight requests and their produce calls.
lifecycle.onStop('http', () => app.close());

await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
logger.info(
  { port: typeof address === 'object' && address ? address.port : config.port },
  'collector listening',
);

await Promise.all([
  retryForever(
    'kafka producer connect',
    () => producer.connect(),
    logger,
    () => lifecycle.isStopping,
  ),
  retryForever(
    'schema ids',
    () => encoder.load(),
    logger,
    () => lifecycle.isStopping,
  ),
]);
logger.info('collector ready');
