/**
 * `npm run customers:recompute`: every computed column of customers recomputed from the raw
 * tables and corrected where it differs, the repair after a manual data fix (README, "Customer
 * metrics"). `--check` only reports. Wiring only; the work is in shared/src/customers/metrics/.
 */
import { commonConfig, loadConfig } from '../../shared/src/config.js';
import { createLogger } from '../../shared/src/logger.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { createKafka, createProducer } from '../../shared/src/kafka/client.js';
import { BatchingPublisher } from '../../shared/src/kafka/batching-publisher.js';
import { AvroCodec } from '../../shared/src/avro/registry.js';
import { OutboxRelay } from '../../shared/src/pipeline/outbox-relay.js';
import { customerChangeFeed } from '../../shared/src/customers/change.js';
import { metricDifferences } from '../../shared/src/customers/metrics/check.js';
import { customerSlices, repairCustomerMetrics } from '../../shared/src/customers/metrics/refresh.js';
import { Registry } from 'prom-client';
import { runCli, UsageError } from './cli.js';
import { parseRecomputeArgs, USAGE } from './customers/recompute-args.js';

/** The scheduler's producer name: its relay also sends what a run of this tool left behind. */
const PRODUCER = 'scheduler';

await runCli('customers:recompute', async (say) => {
  const args = parseRecomputeArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig(
    {
      databaseUrl: commonConfig.databaseUrl,
      kafkaBrokers: commonConfig.kafkaBrokers,
      schemaRegistryUrl: commonConfig.schemaRegistryUrl,
      logLevel: commonConfig.logLevel,
      topicPrefix: commonConfig.topicPrefix,
    },
    process.env,
  );
  const logger = createLogger(
    'customers-recompute',
    config.logLevel === 'info' ? 'silent' : config.logLevel,
    'stderr',
  );
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'customers-recompute',
    registry: new Registry(),
  });
  try {
    const only = args.customers.length > 0 ? await customerUuids(db, args.customers) : undefined;
    const asOf = new Date();
    if (args.check) {
      await check(db, only, asOf, args.sliceSize, say);
      return;
    }
    const codec = new AvroCodec(config.schemaRegistryUrl);
    const feed = await customerChangeFeed(codec, config.topicPrefix, PRODUCER);
    let last = 0;
    const result = await repairCustomerMetrics(db, asOf, {
      feed,
      only,
      sliceSize: args.sliceSize,
      onProgress: (p) => {
        if (p.scanned - last >= 10_000) {
          last = p.scanned;
          say(`${p.scanned.toLocaleString('en-US')} customers checked, ${p.changed} corrected`);
        }
      },
    });
    say(`${result.scanned.toLocaleString('en-US')} customers checked, ${result.changed} corrected`);
    for (const [column, n] of Object.entries(result.columns)) say(`  ${column}: ${n} wrong`);
    await relay(db, config, logger, say);
  } finally {
    await db.end();
  }
});

async function customerUuids(db: ReturnType<typeof createDb>, ids: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ given: string; id: string }>(
    'recompute.resolve',
    `SELECT g.given, coalesce(ci.customer_id, c.id) AS id
     FROM unnest($1::text[]) AS g(given)
     LEFT JOIN customer_identities ci ON ci.external_id = g.given
     LEFT JOIN customers c ON c.customer_id = g.given OR c.id::text = g.given`,
    [ids],
  );
  const unknown = rows.filter((r) => r.id === null).map((r) => r.given);
  if (unknown.length > 0) throw new UsageError(`no such customer: ${unknown.join(', ')}`, USAGE);
  return rows.map((r) => r.id);
}

async function check(
  db: ReturnType<typeof createDb>,
  only: string[] | undefined,
  asOf: Date,
  sliceSize: number,
  say: (line: string) => void,
): Promise<void> {
  let scanned = 0;
  let wrong = 0;
  for await (const ids of customerSlices(db, { only, sliceSize }, 'recompute')) {
    const diffs = await metricDifferences(db, ids, asOf.getTime());
    wrong += new Set(diffs.map((d) => d.id)).size;
    for (const d of diffs) {
      say(
        `${d.customerId}: ${d.column} is ${JSON.stringify(d.stored)}, recomputed ${JSON.stringify(d.expected)}`,
      );
    }
    scanned += ids.length;
  }
  say(
    `${scanned.toLocaleString('en-US')} customers checked, ${wrong} with a stored value that differs (nothing written)`,
  );
  if (wrong > 0) process.exitCode = 3;
}

/** Sends the changes the repair published to the outbox now (else the scheduler's relay will). */
async function relay(
  db: ReturnType<typeof createDb>,
  config: { kafkaBrokers: string[]; topicPrefix: string },
  logger: ReturnType<typeof createLogger>,
  say: (line: string) => void,
): Promise<void> {
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: 'cdp-customers-recompute',
    logger,
    retries: 3,
  });
  const producer = createProducer(kafka, { idempotent: false, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const publisher = new BatchingPublisher(producer, {
      lingerMs: 0,
      maxBatchRecords: 1_000,
      timeoutMs: 30_000,
    });
    const outbox = new OutboxRelay({
      db,
      producer: PRODUCER,
      publish: publisher.publish.bind(publisher),
      logger,
    });
    const { relayed, stuck } = await outbox.drain();
    say(
      `${relayed} changes published on cdp.customer-changes${stuck.length > 0 ? `; Kafka refused ${stuck.join(', ')}: the scheduler relays them later` : ''}`,
    );
  } catch (err) {
    say(
      `changes not published yet (${(err as Error).message}): they wait in the outbox for the scheduler's relay`,
    );
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
