/**
 * `make bench`: the end-to-end benchmark, on topics of its own (TOPIC_PREFIX `cdpbench.<tag>.`).
 * Four phases, the first two repeated BENCH_RUNS times with a baseline measured in the same run
 * (the machine is shared and noisy, so ratios are the figures to compare over time):
 *   1. the collector alone (HTTP -> Kafka), against a trivial Node HTTP server; optionally
 *      (BENCH_PROFILE=1) a CPU profile of it at its maximum;
 *   2. the event sink (Kafka -> customer_events), against a raw COPY of the same rows, and without
 *      its customer metrics (their cost);
 *   3. end to end with every processor, stepping the offered rate to the highest one the pipeline
 *      sustains, with the CPU of every process, against a Kafka -> PostgreSQL floor;
 *   4. the scheduler's refresh of the clock-driven customer metrics over 100,000 bench customers.
 * Prints a table, writes bench/results/latest.json, cleans up after itself. Exit codes: 0 measured
 * (goals met or not), 1 could not measure, 2 measured but saw a correctness problem (errors, lost
 * or duplicated rows) under load.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { ConfigError } from '../../services/shared/src/config.js';
import { createLogger } from '../../services/shared/src/logger.js';
import { createRegistry } from '../../services/shared/src/metrics/registry.js';
import { createDb } from '../../services/shared/src/pg/gateway.js';
import { createKafka, ensureTopics } from '../../services/shared/src/kafka/client.js';
import { AvroCodec } from '../../services/shared/src/avro/registry.js';
import { createSource, revokeSource } from '../../services/shared/src/sources/store.js';
import { resolveCustomers } from '../../services/shared/src/customers/resolve.js';
import { Topics, topicSpecs, valueSubject } from '../../services/shared/src/topics.js';
import { repoPath } from '../../services/shared/src/repo-path.js';
import { assertLoopback, loadBenchOptions, type BenchOptions } from './options.js';
import { BENCH_PREFIX, BENCH_TOPIC_PREFIX, HttpWorkload, type BenchContext } from './context.js';
import { batchTemplates, customerPool, orderTemplates } from './workload.js';
import { campaignTemplates, createBenchCampaigns } from './campaign-workload.js';
import {
  profileCollector,
  runCollectorBench,
  startCollector,
  type RunningCollector,
} from './collector-bench.js';
import { runSinkBench } from './sink-bench.js';
import { runE2eBench } from './e2e-bench.js';
import { runRefreshBench } from './refresh-bench.js';
import {
  deleteBenchData,
  deleteBenchKafka,
  deleteBenchSubjects,
  vacuumEvents,
  vacuumHotTables,
} from './cleanup.js';
import { buildTable, newReport, printTable, writeReport, type Report } from './report.js';
import { elapsedSeconds, progress } from './log.js';
import { logDir, stopAll } from './procs.js';

const PROBE_CUSTOMERS = 24;
const TEMPLATES = 64;
const HTTP_CUSTOMERS = 5_000;

let opts: BenchOptions;
try {
  opts = loadBenchOptions(process.env);
  assertLoopback(opts);
} catch (err) {
  process.stderr.write(`bench: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exit(1);
}

const phases = new Set(opts.phases.split(',').map((p) => p.trim()));
for (const p of phases) {
  if (!['collector', 'sink', 'e2e', 'refresh'].includes(p)) {
    process.stderr.write(`bench: BENCH_PHASES has an unknown phase "${p}" (collector, sink, e2e, refresh)\n`);
    process.exit(1);
  }
}

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', 't').slice(0, 13);
const tag = `${stamp}-${randomBytes(2).toString('hex')}`;
const marker = `${BENCH_PREFIX}${tag}`;
const prefix = `${BENCH_TOPIC_PREFIX}${tag}.`;
const report: Report = newReport({
  ...opts,
  databaseUrl: '[set]',
  phases: [...phases],
  tag,
  childLogs: logDir,
});

const logger = createLogger('bench', 'error');
const registry = createRegistry('bench');
const db = createDb({
  connectionString: opts.databaseUrl,
  service: 'bench',
  registry,
  max: 6,
  statementTimeoutMs: 300_000,
});
const kafka = createKafka({ brokers: opts.kafkaBrokers, clientId: 'cdp-bench', logger, retries: 3 });
const ctx: BenchContext = {
  opts,
  tag,
  marker,
  prefix,
  db,
  kafka,
  codec: new AvroCodec(opts.schemaRegistryUrl),
  logger,
  warnings: report.warnings,
  findings: report.findings,
};

let finishing = false;
async function finish(code: number, error?: Error): Promise<never> {
  if (finishing) process.exit(code);
  finishing = true;
  clearTimeout(watchdog);
  if (error) {
    report.error = error.message;
    process.stderr.write(`\nbench: could not measure: ${error.stack ?? error.message}\n`);
  }
  await stopAll().catch(() => {});
  if (ctx.source) {
    await revokeSource(db, ctx.source.name).catch(() => {});
  }
  try {
    progress(
      "cleanup: deleting the bench's topics, groups, subjects, customers, orders, rows, dedup entries and offsets",
    );
    report.cleanup = {
      ...(await deleteBenchKafka(kafka)),
      subjects: await deleteBenchSubjects(opts.schemaRegistryUrl),
      ...(await deleteBenchData(db, ctx.source?.name)),
    };
    await vacuumEvents(db);
    await vacuumHotTables(db);
  } catch (err) {
    report.warnings.push(`cleanup failed: ${(err as Error).message}`);
  }
  report.finishedAt = new Date().toISOString();
  report.durationSeconds = Math.round(elapsedSeconds());
  report.machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  report.table = buildTable(report);
  const file = writeReport(report);
  await db.end().catch(() => {});

  process.stdout.write('\n' + printTable(report.table) + '\n\n');
  for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
  for (const f of report.findings) process.stdout.write(`FINDING: ${f}\n`);
  process.stdout.write(`\nresults: ${file}  (child process logs: ${logDir})\n`);
  process.stdout.write(`bench took ${report.durationSeconds} s\n`);
  if (!error && code === 0 && report.findings.length > 0) code = 2;
  process.exit(code);
}

const watchdog = setTimeout(() => {
  void finish(
    1,
    new Error(`the bench ran past BENCH_TIME_LIMIT_SECONDS (${opts.timeLimitSeconds} s) and was stopped`),
  );
}, opts.timeLimitSeconds * 1000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void finish(1, new Error(`stopped by ${signal}`)));
}

async function preflight(): Promise<void> {
  for (const entry of [
    'dist/services/collector/src/main.js',
    'dist/services/event-sink/src/main.js',
    'dist/bench/src/echo-server.js',
  ]) {
    if (!existsSync(repoPath(entry))) throw new Error(`${entry} is missing: run npm run build first`);
  }
  try {
    await db.query('bench.preflight', 'SELECT 1 FROM customer_events LIMIT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is not ready (${(err as Error).message}); start the stack: ./deploy/local/stack.sh up`,
    );
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(Topics.events))
      throw new Error(`topic ${Topics.events} is missing: run the bootstrap (make up)`);
  } catch (err) {
    throw new Error(`Kafka is not ready: ${(err as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  try {
    await ctx.codec.latestId(valueSubject(Topics.events));
  } catch (err) {
    throw new Error(
      `the schema registry has no ${valueSubject(Topics.events)} (${(err as Error).message}): run the bootstrap (make up)`,
    );
  }
}

async function main(): Promise<void> {
  progress(
    `cdp bench ${tag}: phases ${[...phases].join(', ')}, ${opts.runs} runs each (child logs in ${logDir})`,
  );
  await preflight();

  const leftovers = { ...(await deleteBenchKafka(kafka)), ...(await deleteBenchData(db)) };
  if (Object.values(leftovers).some((n) => n > 0))
    progress(`removed leftovers of earlier bench runs: ${JSON.stringify(leftovers)}`);
  await vacuumHotTables(db);

  // The bench's own topics: inputs, their dead-letter topics and the derived topics, as the
  // bootstrap makes the real ones. The end-to-end phase gets a set of its own, so its processors
  // start on empty topics instead of the collector phase's millions of records.
  const makeTopics = async (p: string) => {
    const specs = topicSpecs.map((t) => ({ ...t, topic: p + t.topic }));
    await ensureTopics(kafka, specs);
    progress(`topics: ${p}{${topicSpecs.map((t) => t.topic).join(', ')}}`);
  };
  await makeTopics(prefix);

  if (phases.has('collector') || phases.has('e2e')) {
    const source = await createSource(db, marker);
    ctx.source = source;
    const probeIds = Array.from({ length: PROBE_CUSTOMERS }, (_, j) => `${marker}-probe${j}`);
    ctx.probes = await db.transaction('bench.probes', (tx) =>
      resolveCustomers(
        tx,
        probeIds.map((externalId) => ({ externalId, identityType: 'user_id' as const, seenAt: new Date() })),
      ),
    );
    const customers = customerPool(`${marker}-h`, HTTP_CUSTOMERS);
    const templates = batchTemplates({
      marker,
      templates: TEMPLATES,
      events: opts.batchEvents,
      customers,
      probes: probeIds,
      now: Date.now(),
    });
    const orders = orderTemplates({
      marker,
      templates: 8,
      orders: opts.batchEvents,
      customers,
      now: Date.now(),
    });
    const campaigns = campaignTemplates({
      marker,
      templates: 8,
      events: opts.batchEvents,
      customers,
      campaignIds: await createBenchCampaigns(db, marker, 12),
      now: Date.now(),
    });
    ctx.http = new HttpWorkload(templates, customers, orders, campaigns);
    progress(
      `HTTP workload: ${TEMPLATES} batch templates of ${opts.batchEvents} events, mean ${templates.meanBytes} bytes per request ` +
        `(end to end also one /v1/orders request of ${opts.batchEvents} orders in ${HttpWorkload.ORDERS_EVERY}, mean ${orders.meanBytes} bytes, ` +
        `and one /v1/campaign-events request of ${opts.batchEvents} events in ${HttpWorkload.CAMPAIGNS_EVERY}, mean ${campaigns.meanBytes} bytes)`,
    );
  }

  // The sink first: its raw COPY is the baseline of the end-to-end figure.
  if (phases.has('sink')) report.sink = await runSinkBench(ctx);

  let collector: RunningCollector | undefined;
  if (phases.has('collector')) {
    progress('starting the collector');
    collector = await startCollector(ctx);
    report.collector = await runCollectorBench(ctx, collector);
    await collector.child.stop();
  }
  if (opts.profile && ctx.http) report.profile = await profileCollector(ctx);
  if (phases.has('e2e')) {
    ctx.prefix = `${prefix}e2e.`;
    await makeTopics(ctx.prefix);
    progress('starting the collector for the end-to-end phase');
    collector = await startCollector(ctx);
    report.e2e = await runE2eBench(ctx, collector);
    await collector.child.stop();
  }
  // Last, so its 100,000 customers and their writes share the machine with no other measurement.
  if (phases.has('refresh')) report.refresh = await runRefreshBench(ctx);
}

main().then(
  () => finish(0),
  (err: Error) => finish(1, err),
);
