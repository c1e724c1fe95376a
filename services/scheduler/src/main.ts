/** The scheduler process: runs the scheduled_jobs rows, one leader across instances. Wiring only. */
import { configOrExit } from '../../shared/src/config.js';
import { isRetryable } from '../../shared/src/errors.js';
import { startOpsServer } from '../../shared/src/http/ops-server.js';
import { Lifecycle } from '../../shared/src/lifecycle.js';
import { createLogger } from '../../shared/src/logger.js';
import { createRegistry } from '../../shared/src/metrics/registry.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { loadSchedulerConfig } from './config.js';
import { defaultJobs } from './jobs/registry.js';
import { LeaderSession } from './leader-session.js';
import { createSchedulerMetrics } from './metrics.js';
import { startPolling } from './poller.js';
import { Scheduler } from './scheduler.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { customerChangeFeed } from '../../shared/src/customers/change.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { createKafka, createProducer } from '../../shared/src/kafka/client.js';
import { OutboxRelay } from '../../shared/src/pipeline/outbox-relay.js';
import { retryForever } from '../../shared/src/retry.js';

/** Every scheduler of one database competes for this lock. */
const LOCK_NAME = 'cdp-scheduler';

const config = configOrExit('scheduler', () => loadSchedulerConfig(process.env));
const logger = createLogger('scheduler', config.logLevel);
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

const registry = createRegistry('scheduler');
const db = createDb({
  connectionString: config.databaseUrl,
  service: 'scheduler',
  applicationName: `scheduler/${process.pid}`,
  registry,
  max: 3,
  // Jobs slice their work; a statement past this is stuck, not slow. The job's own timeout_seconds
  // is the bound of a run.
  statementTimeoutMs: 10 * 60_000,
});
lifecycle.onStop('postgres', () => db.end());

// The metrics jobs publish their changes through the outbox (producer `scheduler`, as the
// customers:recompute tool does); this relay sends them, one relay at a time across instances.
const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'cdp-scheduler', logger });
const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
lifecycle.onStop('kafka-producer', () => producer.disconnect());
const stopped = () => lifecycle.isStopping;
await retryForever('kafka producer connect', () => producer.connect(), logger, stopped);
const changes = await retryForever(
  'customer-change schema',
  () => customerChangeFeed(new AvroCodec(config.schemaRegistryUrl), config.topicPrefix, 'scheduler'),
  logger,
  stopped,
);
const publisher = new BatchingPublisher(producer, { lingerMs: 0, maxBatchRecords: 1_000, timeoutMs: 30_000 });
const relay = new OutboxRelay({
  db,
  producer: 'scheduler',
  publish: publisher.publish.bind(publisher),
  logger,
});
relay.start();
lifecycle.onStop('outbox-relay', () => relay.stop());
const jobs = defaultJobs({ changes: changes ?? null, written: () => relay.wake() }, config.databaseUrl);

const leadership = new LeaderSession({
  connectionString: config.databaseUrl,
  lockName: LOCK_NAME,
  applicationName: `scheduler/${process.pid}/lock`,
  logger,
});
const scheduler = new Scheduler({
  leadership,
  db,
  jobs,
  logger,
  metrics: createSchedulerMetrics(registry),
});
lifecycle.onStop('scheduler', () => scheduler.stop());

const ops = await startOpsServer({
  port: config.port,
  registry,
  isHealthy: () => !lifecycle.isStopping,
  // A standby is ready too: it is connected and waiting for the lock.
  isReady: () => scheduler.isConnected && !lifecycle.isStopping,
});
lifecycle.onStop('ops-server', () => ops.close());

const poller = startPolling({
  intervalMs: config.pollMs,
  tick: () => scheduler.tick(),
  onError: (err) => {
    // PostgreSQL down or the lock lost mid-tick: wait for the next poll. Anything else is a bug.
    if (isRetryable(err))
      logger.warn({ err: { message: (err as Error).message } }, 'tick failed; retrying at the next poll');
    else void lifecycle.shutdown(err instanceof Error ? err : new Error(String(err)));
  },
});
lifecycle.onStop('poller', async () => poller.stop());
logger.info({ port: ops.port, pollMs: config.pollMs, jobs: [...jobs.keys()] }, 'scheduler started');
