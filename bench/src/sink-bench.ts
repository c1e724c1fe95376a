/**
 * Phase 2, the event sink's throughput: N realistic events, Avro-encoded exactly as the collector
 * encodes them, are produced to a fresh 6-partition topic; then the real sink process
 * (dist/services/event-sink/src/main.js, its own consumer group, EVENT_SINK_TOPIC pointing at the
 * fresh topic) drains it into customer_events. Rows/s is taken from the moment its first batch
 * committed to the moment the last did (its start-up, mostly the consumer-group join, is reported
 * apart). Baseline in the same run: the very same COPY text lines the sink writes, COPYed by the
 * bench through the project's gateway into the same table, in batches of the sink's mean batch
 * size with the sink's parallelism, each batch its own transaction. And, the same rows again, the
 * sink with EVENT_SINK_CUSTOMER_METRICS=false: what the customers' metrics in its transaction cost.
 */
import { createProducer, ensureTopics } from '../../services/shared/src/kafka/client.js';
import type { Message } from '../../services/shared/src/kafka/client.js';
import { resolveCustomers } from '../../services/shared/src/customers/resolve.js';
import { Topics, valueSubject } from '../../services/shared/src/topics.js';
import { sleep } from '../../services/shared/src/retry.js';
import { mapSegmentMessage } from '../../services/collector/src/mapping/segment.js';
import { mapEventRow } from '../../services/event-sink/src/mapping/event-row.js';
import type { EventRecord } from '../../services/event-sink/src/mapping/event-record.js';
import { COPY_SQL, copyLine } from '../../services/event-sink/src/copy-text.js';
import { COPY_BINARY_SQL, copyBinary } from '../../services/event-sink/src/copy-binary.js';
import type { EventRow } from '../../services/event-sink/src/mapping/event-row.js';
import { loadSinkConfig } from '../../services/event-sink/src/config.js';
import { EARLIEST_EVENT_MS } from '../../services/shared/src/time/occurred-at.js';
import type { BenchContext } from './context.js';
import { customerPool, sinkEvents } from './workload.js';
import { cpuSeconds, tail } from './procs.js';
import { PROCESSORS, histogram, startProcessor, value } from './processors.js';
import { progress } from './log.js';
import { histogramSumsBy, median, round } from './stats.js';
import { deleteRegistrySubject, vacuumEvents } from './cleanup.js';

/** The three drains of a run: the sink as deployed, the raw COPY, the sink without customer metrics. */
export type SinkStage = 'sink' | 'raw' | 'sink-no-metrics';
const STAGES: readonly SinkStage[] = ['sink', 'raw', 'sink-no-metrics'];

/**
 * Run r's drains, rotated: every drain adds the run's rows to the table the next one writes into,
 * so over three runs each drain goes first, second and third once.
 */
export function stagesOf(run: number): SinkStage[] {
  const k = (run - 1) % STAGES.length;
  return [...STAGES.slice(k), ...STAGES.slice(0, k)];
}

/** The customer metrics' own queries in the sink (customer-activity.ts, metrics/incremental.ts). */
const METRICS_TAG = /^(sink\.sessions|sink\.activity-days|metrics\.)/;
export const isMetricsTag = (tag: string): boolean => METRICS_TAG.test(tag);
/** Reported beside them: the COPY itself for scale, and the change records the metrics add to the outbox. */
const REFERENCE_TAGS: readonly string[] = ['sink.copy', 'outbox.add'];

/** The sink without customer metrics, on the same topic in the same run. */
export interface NoMetricsDrain {
  group: string;
  startupSeconds: number;
  drainSeconds: number;
  rowsPerSecond: number;
  cpuPercent: number;
  meanBatchRows: number;
  rowsFound: number;
  missing: number;
  writtenTwice: number;
}

export interface SinkRun {
  run: number;
  order: 'sink-first' | 'raw-first';
  /** The run's drains in the order they ran. */
  sequence: SinkStage[];
  group: string;
  /** Seconds from spawning the sink to its first committed batch. */
  startupSeconds: number;
  /** Seconds from the first committed batch to the last. */
  drainSeconds: number;
  sinkRowsPerSecond: number;
  /** Including start-up: N / (spawn -> last commit). */
  sinkRowsPerSecondCold: number;
  rawRowsPerSecond: number;
  rawSeconds: number;
  rawBatchRows: number;
  ratio: number;
  meanSinkBatchRows: number;
  /** CPU of the sink process while it drained, % of one core. */
  sinkCpuPercent: number;
  sinkBatches: number;
  rowsFound: number;
  missing: number;
  writtenTwice: number;
  deadLettered: number;
  duplicatesDropped: number;
  retries: number;
  noMetrics: NoMetricsDrain;
  /** Sink rows/s with the customer metrics / without them. */
  metricsRatio: number;
  /** The sink's (metrics on) PostgreSQL seconds per 1,000 events by query tag, summed over its connections. */
  pgSecondsPer1kEvents: Record<string, number>;
  /** Of those, the metrics' own tags (sink.sessions*, sink.activity-days*, metrics.*) added up. */
  metricsPgSecondsPer1kEvents: number;
}

export interface SinkFigures {
  topic: string;
  events: number;
  customers: number;
  meanAvroBytes: number;
  produceSeconds: number;
  sinkConcurrency: number;
  sinkMaxBatch: number;
  copyFormat: 'text' | 'binary';
  runs: SinkRun[];
  median: {
    sinkRowsPerSecond: number;
    sinkRowsPerSecondCold: number;
    rawRowsPerSecond: number;
    ratio: number;
    startupSeconds: number;
    sinkNoMetricsRowsPerSecond: number;
    /** Sink rows/s with metrics / without; metricsCost = 1 - metricsRatio, the share of throughput they take. */
    metricsRatio: number;
    metricsCost: number;
    metricsPgSecondsPer1kEvents: number;
    pgSecondsPer1kEventsByTag: Record<string, number>;
  };
}

export async function runSinkBench(ctx: BenchContext): Promise<SinkFigures> {
  const { opts, db, kafka, codec, marker } = ctx;
  // The sink child inherits this environment, so its settings (COPY format, batch, concurrency) are these.
  const sinkDefaults = loadSinkConfig(process.env);
  const limits = { maxFutureMs: sinkDefaults.maxFutureMs, earliestMs: EARLIEST_EVENT_MS };
  const topic = `cdpbench.${ctx.tag}.events`;
  const sourceKey = `${marker}-sink`;
  const n = opts.sinkEvents;

  progress(`sink: creating topic ${topic} (6 partitions)`);
  await ensureTopics(kafka, [{ topic, partitions: 6 }]);

  try {
    // Customers exist before the runs (returning customers, the steady state of a live system);
    // both the sink and the raw COPY then write rows for known customers.
    const pool = customerPool(`${marker}-s`, opts.sinkCustomers);
    progress(`sink: creating ${pool.ids.length.toLocaleString('en-US')} customers`);
    const uuids = new Map<string, string>();
    const seenAt = new Date(Date.now() - 86_400_000);
    for (let i = 0; i < pool.ids.length; i += 5_000) {
      const refs = pool.ids.slice(i, i + 5_000).map((id, j) => ({
        externalId: id,
        identityType: pool.isUser[i + j] ? ('user_id' as const) : ('anonymous_id' as const),
        seenAt,
      }));
      const got = await db.transaction('bench.customers', (tx) => resolveCustomers(tx, refs));
      for (const [k, v] of got) uuids.set(k, v);
    }
    const customerIds = [...uuids.values()];

    progress(
      `sink: generating and encoding ${n.toLocaleString('en-US')} events (Avro, the registered ${valueSubject(Topics.events)} schema)`,
    );
    const schemaId = await codec.latestId(valueSubject(Topics.events));
    const now = Date.now();
    const messages: Message[] = [];
    let avroBytes = 0;
    for (const event of sinkEvents({ marker, count: n, customers: pool, now })) {
      const out = mapSegmentMessage(String(event.type), event, {
        receivedAt: now,
        sourceId: sourceKey,
        ip: '127.0.0.1',
        userAgent: undefined,
      });
      const value = await codec.encode(schemaId, out.value);
      avroBytes += value.length;
      messages.push({ key: out.key, value });
    }

    // The rows of the baseline: decoded and mapped exactly as the sink does it.
    const resolved: Resolved[] = [];
    for (const m of messages) {
      const record = await codec.decode<EventRecord>(m.value as Buffer);
      const mapped = mapEventRow(record, limits);
      if (!mapped.ok)
        throw new Error(`bench event does not map: ${mapped.reason} ${mapped.errors.join('; ')}`);
      resolved.push({ row: mapped.value.row, customerId: uuids.get(mapped.value.row.externalId)! });
    }
    // The metrics' sessions table is only exercised by events with a session id (properties.session_id).
    const withSession = resolved.filter((r) => r.row.sessionId !== null).length;
    progress(`sink: ${pct(withSession / n)} of the events carry a session id`);
    if (withSession === 0)
      ctx.warnings.push('sink: no bench event has a session id; customer_sessions is not exercised');

    progress(
      `sink: producing ${n.toLocaleString('en-US')} records (mean ${Math.round(avroBytes / n)} bytes) to ${topic}`,
    );
    const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const produceStart = Date.now();
    try {
      for (let i = 0; i < messages.length; i += 5_000) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5_000) });
      }
    } finally {
      await producer.disconnect();
    }
    const produceSeconds = (Date.now() - produceStart) / 1000;
    messages.length = 0;
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    const target = offsets.reduce((s, p) => s + Number(p.high), 0);
    progress(
      `sink: ${target.toLocaleString('en-US')} records on ${topic} after ${produceSeconds.toFixed(1)} s`,
    );

    const runs: SinkRun[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      const sequence = stagesOf(run);
      const group = `${marker}-sink-r${run}`;
      const noMetricsGroup = `${group}-nometrics`;
      const drains: Partial<Record<'sink' | 'sink-no-metrics', SinkResult & Checked>> = {};
      let raw: { rows: number; seconds: number } | undefined;
      let batchRows = 0;
      let tableRows = 0;
      for (const [i, stage] of sequence.entries()) {
        if (stage === 'raw') {
          batchRows = Math.max(
            1,
            Math.round(
              drains.sink?.meanBatchRows ?? runs[0]?.meanSinkBatchRows ?? sinkDefaults.maxBatchRecords,
            ),
          );
          raw = await runRawCopy(ctx, resolved, batchRows, sinkDefaults, run);
          tableRows += raw.rows;
          continue;
        }
        const withMetrics = stage === 'sink';
        // Both sinks of a run read the same messageIds: the first one's dedup entries would make
        // the second drop every record as a duplicate.
        await clearDedup(ctx, sourceKey);
        const s = await runSink(ctx, topic, withMetrics ? group : noMetricsGroup, target, run, withMetrics);
        const check = await checkCopies(ctx, customerIds, sourceKey, i + 1, tableRows);
        tableRows += check.rowsFound;
        if (check.missing > 0 || check.writtenTwice > 0 || check.rowsFound !== n) {
          ctx.findings.push(
            `sink run ${run} (${stage}): ${n} events on the topic; the sink committed ${check.rowsFound} rows, ` +
              `${check.missing} events missing, ${check.writtenTwice} written more than once`,
          );
        }
        drains[stage] = { ...s, ...check };
      }
      const s = drains.sink!;
      const off = drains['sink-no-metrics']!;
      const rawRowsPerSecond = raw!.rows / raw!.seconds;
      const pgPer1k = pgSecondsPer1k(s.pgSeconds, target);
      runs.push({
        run,
        order: sequence.indexOf('sink') < sequence.indexOf('raw') ? 'sink-first' : 'raw-first',
        sequence,
        group,
        startupSeconds: round(s.startupSeconds, 2),
        drainSeconds: round(s.drainSeconds, 2),
        sinkRowsPerSecond: round(s.rowsPerSecond),
        sinkRowsPerSecondCold: round(s.rowsPerSecondCold),
        rawRowsPerSecond: round(rawRowsPerSecond),
        rawSeconds: round(raw!.seconds, 2),
        rawBatchRows: batchRows,
        ratio: round(s.rowsPerSecond / rawRowsPerSecond, 3),
        meanSinkBatchRows: round(s.meanBatchRows, 1),
        sinkCpuPercent: s.cpuPercent,
        sinkBatches: s.batches,
        rowsFound: s.rowsFound,
        missing: s.missing,
        writtenTwice: s.writtenTwice,
        deadLettered: s.deadLettered,
        duplicatesDropped: s.duplicates,
        retries: s.retries,
        noMetrics: {
          group: noMetricsGroup,
          startupSeconds: round(off.startupSeconds, 2),
          drainSeconds: round(off.drainSeconds, 2),
          rowsPerSecond: round(off.rowsPerSecond),
          cpuPercent: off.cpuPercent,
          meanBatchRows: round(off.meanBatchRows, 1),
          rowsFound: off.rowsFound,
          missing: off.missing,
          writtenTwice: off.writtenTwice,
        },
        metricsRatio: round(s.rowsPerSecond / off.rowsPerSecond, 3),
        pgSecondsPer1kEvents: pgPer1k,
        metricsPgSecondsPer1kEvents: metricsTotal(pgPer1k),
      });
      progress(
        `sink run ${run}/${opts.runs}: with customer metrics ${pct(s.rowsPerSecond / off.rowsPerSecond)} of the rows/s without; ` +
          `their queries ${metricsTotal(pgPer1k).toFixed(3)} s of PostgreSQL per 1,000 events (COPY ${(pgPer1k['sink.copy'] ?? NaN).toFixed(3)} s)`,
      );

      progress(`sink run ${run}/${opts.runs}: deleting the run's rows`);
      await cleanRun(ctx, customerIds, sourceKey, [group, noMetricsGroup]);
    }

    const m = (f: (r: SinkRun) => number) => median(runs.map(f));
    return {
      topic,
      events: n,
      customers: pool.ids.length,
      meanAvroBytes: Math.round(avroBytes / n),
      produceSeconds: round(produceSeconds, 2),
      sinkConcurrency: sinkDefaults.concurrency,
      sinkMaxBatch: sinkDefaults.maxBatchRecords,
      copyFormat: sinkDefaults.copyFormat,
      runs,
      median: {
        sinkRowsPerSecond: round(m((r) => r.sinkRowsPerSecond)),
        sinkRowsPerSecondCold: round(m((r) => r.sinkRowsPerSecondCold)),
        rawRowsPerSecond: round(m((r) => r.rawRowsPerSecond)),
        ratio: round(
          m((r) => r.ratio),
          3,
        ),
        startupSeconds: round(
          m((r) => r.startupSeconds),
          2,
        ),
        sinkNoMetricsRowsPerSecond: round(m((r) => r.noMetrics.rowsPerSecond)),
        metricsRatio: round(
          m((r) => r.metricsRatio),
          3,
        ),
        metricsCost: round(1 - m((r) => r.metricsRatio), 3),
        metricsPgSecondsPer1kEvents: round(
          m((r) => r.metricsPgSecondsPer1kEvents),
          5,
        ),
        pgSecondsPer1kEventsByTag: medianByTag(runs.map((r) => r.pgSecondsPer1kEvents)),
      },
    };
  } finally {
    const admin = kafka.admin();
    await admin.connect().catch(() => {});
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
    const groups = Array.from({ length: opts.runs }, (_, i) => `${marker}-sink-r${i + 1}`).flatMap((g) => [
      g,
      `${g}-nometrics`,
    ]);
    await admin.deleteGroups(groups).catch(() => {});
    await admin.disconnect().catch(() => {});
    await deleteRegistrySubject(opts.schemaRegistryUrl, valueSubject(`${topic}.dlq`));
  }
}

type SinkResult = Awaited<ReturnType<typeof runSink>>;

/**
 * Runs the sink process over `topic` with `group` until `target` records are committed, with or
 * without the customers' metrics in its transactions.
 */
async function runSink(
  ctx: BenchContext,
  topic: string,
  group: string,
  target: number,
  run: number,
  customerMetrics: boolean,
) {
  const { db, opts } = ctx;
  const what = customerMetrics ? 'event sink' : 'event sink without customer metrics';
  progress(`sink run ${run}/${opts.runs}: ${what} process on ${topic}, group ${group}`);
  const spawned = Date.now();
  // The run's TOPIC_PREFIX (its input is EVENT_SINK_TOPIC anyway): the change records of the
  // metrics go to the bench's own cdp.customer-changes, never to the development topic.
  const sinkProc = await startProcessor(PROCESSORS[0]!, opts, ctx.prefix, group, {
    name: `event-sink-r${run}${customerMetrics ? '' : '-nometrics'}`,
    env: { EVENT_SINK_TOPIC: topic, EVENT_SINK_CUSTOMER_METRICS: String(customerMetrics) },
    readyPath: '/healthz',
  });
  const child = sinkProc.child;
  try {
    const committed = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            'bench.sink-progress',
            'SELECT coalesce(sum(next_offset), 0) AS n FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
            [group, topic],
          )
        ).rows[0]!.n,
      );
    // Bounded: start-up plus the drain at no less than 500 rows/s.
    const deadline = Date.now() + 60_000 + (target / 500) * 1000;
    let first: { at: number; rows: number; cpu: number } | undefined;
    let last = 0;
    let lastReport = Date.now();
    let exited = false;
    void child.exited.then(() => (exited = true));
    for (;;) {
      const polledAt = Date.now();
      const rows = await committed();
      if (rows > 0 && !first) first = { at: polledAt, rows, cpu: cpuSeconds(child.proc.pid) };
      if (rows >= target) {
        last = polledAt;
        break;
      }
      if (exited) throw new Error(`the event sink exited while draining:\n${tail(child)}`);
      if (Date.now() > deadline) {
        throw new Error(
          `the event sink committed ${rows} of ${target} records before the time limit:\n${tail(child)}`,
        );
      }
      if (Date.now() - lastReport > 5_000) {
        progress(`  sink: ${rows.toLocaleString('en-US')} / ${target.toLocaleString('en-US')} committed`);
        lastReport = Date.now();
      }
      await sleep(Math.max(0, 50 - (Date.now() - polledAt)));
    }
    const metrics = await sinkProc.metricsText();
    const batches = histogram(metrics, 'batchRows');
    const f = first!;
    const drainCpu = cpuSeconds(child.proc.pid) - f.cpu;
    const drainSeconds = Math.max(0.001, (last - f.at) / 1000);
    const result = {
      startupSeconds: (f.at - spawned) / 1000,
      drainSeconds,
      rowsPerSecond: (target - f.rows) / drainSeconds,
      rowsPerSecondCold: target / ((last - spawned) / 1000),
      cpuPercent: round((drainCpu / Math.max(0.001, (Date.now() - f.at) / 1000)) * 100, 1),
      meanBatchRows: batches && batches.count > 0 ? batches.sum / batches.count : NaN,
      batches: batches?.count ?? 0,
      deadLettered: value(metrics, 'deadLettered') || 0,
      duplicates: value(metrics, 'duplicates') || 0,
      retries: value(metrics, 'retries') || 0,
      /** PostgreSQL seconds by query tag over the process's life (all of it spent on these records). */
      pgSeconds: histogramSumsBy(metrics, 'pg_query_duration_seconds', 'tag'),
    };
    progress(
      `  sink: ${Math.round(result.rowsPerSecond).toLocaleString('en-US')} rows/s after its first commit ` +
        `(start-up ${result.startupSeconds.toFixed(1)} s, CPU ${result.cpuPercent}% of a core, drain ${drainSeconds.toFixed(1)} s, mean batch ${Math.round(result.meanBatchRows)} rows)`,
    );
    if (result.deadLettered > 0)
      ctx.findings.push(`sink run ${run}: ${result.deadLettered} valid bench events were dead-lettered`);
    if (result.retries > 0)
      ctx.warnings.push(`sink run ${run}: ${result.retries} batch retries (see ${child.logFile})`);
    return result;
  } finally {
    await child.stop();
  }
}

type Resolved = { row: EventRow; customerId: string };

interface Checked {
  /** Rows the drain just run committed. */
  rowsFound: number;
  missing: number;
  writtenTwice: number;
}

/**
 * Exactly once: each drain writes every line once, so after the run's `copies`-th drain every
 * messageId must be in the table exactly `copies` times. Fewer means the drain just run lost it
 * (or an earlier sink of the run did, whose finding then comes first); more, it wrote it twice.
 */
async function checkCopies(
  ctx: BenchContext,
  customerIds: string[],
  sourceKey: string,
  copies: number,
  rowsBefore: number,
): Promise<Checked> {
  const { rows } = await ctx.db.query<{ distinct_ids: number; short: number; extra: number; rows: number }>(
    'bench.sink-verify',
    `SELECT count(*)::int AS distinct_ids, (count(*) FILTER (WHERE c < $3))::int AS short,
            coalesce(sum(c - $3) FILTER (WHERE c > $3), 0)::int AS extra, coalesce(sum(c), 0)::int AS rows
     FROM (SELECT message_id, count(*) AS c FROM customer_events
           WHERE customer_id = ANY($1::uuid[]) AND source_system = $2 GROUP BY message_id) t`,
    [customerIds, sourceKey, copies],
  );
  const found = rows[0]!;
  return {
    rowsFound: found.rows - rowsBefore,
    missing: found.short + (ctx.opts.sinkEvents - found.distinct_ids),
    writtenTwice: found.extra,
  };
}

/** The baseline drain of a run, with its progress lines. */
async function runRawCopy(
  ctx: BenchContext,
  rows: Resolved[],
  batchRows: number,
  sink: { concurrency: number; copyFormat: 'text' | 'binary' },
  run: number,
): Promise<{ rows: number; seconds: number }> {
  const n = rows.length;
  progress(
    `sink run ${run}/${ctx.opts.runs}: raw ${sink.copyFormat} COPY of the same ${n.toLocaleString('en-US')} rows, ` +
      `batches of ${batchRows}, ${sink.concurrency} at a time`,
  );
  const raw = await rawCopy(ctx, rows, batchRows, sink.concurrency, sink.copyFormat);
  if (raw.rows !== n) ctx.findings.push(`sink run ${run}: raw COPY wrote ${raw.rows} rows, expected ${n}`);
  progress(
    `  raw COPY: ${Math.round(raw.rows / raw.seconds).toLocaleString('en-US')} rows/s (${raw.seconds.toFixed(2)} s)`,
  );
  return raw;
}

async function clearDedup(ctx: BenchContext, sourceKey: string): Promise<void> {
  await ctx.db.query('bench.sink-clean-dedup', 'DELETE FROM message_dedup WHERE source_key = $1', [
    sourceKey,
  ]);
}

/**
 * After a run: its rows, dedup entries and offsets, and the customers' sessions and activity days,
 * so the next run's metrics find them new as this one did (and no day outlives its events).
 */
async function cleanRun(
  ctx: BenchContext,
  customerIds: string[],
  sourceKey: string,
  groups: string[],
): Promise<void> {
  const { db } = ctx;
  for (const table of ['customer_events', 'customer_sessions', 'customer_activity_days']) {
    await db.query(`bench.sink-clean-${table}`, `DELETE FROM ${table} WHERE customer_id = ANY($1::uuid[])`, [
      customerIds,
    ]);
  }
  await clearDedup(ctx, sourceKey);
  await db.query(
    'bench.sink-clean-offsets',
    'DELETE FROM consumer_offsets WHERE consumer_group = ANY($1::text[])',
    [groups],
  );
  await vacuumEvents(db);
}

/** PostgreSQL seconds per 1,000 events of the metrics' tags and the reference tags. */
function pgSecondsPer1k(seconds: Map<string, number>, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tag, s] of [...seconds].sort((a, b) => b[1] - a[1])) {
    if (isMetricsTag(tag) || REFERENCE_TAGS.includes(tag)) out[tag] = round((s * 1000) / events, 5);
  }
  return out;
}

function metricsTotal(perTag: Record<string, number>): number {
  return round(
    Object.entries(perTag)
      .filter(([tag]) => isMetricsTag(tag))
      .reduce((sum, [, s]) => sum + s, 0),
    5,
  );
}

/** Per tag, the median over the runs that have it. */
function medianByTag(runs: Record<string, number>[]): Record<string, number> {
  const tags = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(tags.map((t) => [t, round(median(runs.map((r) => r[t] ?? NaN)), 5)]));
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * The baseline: `rows` in the sink's COPY format (text lines from copyLine, or copyBinary's
 * buffers), prepared before the clock starts, then COPYed in batches of `batchRows`, `parallel`
 * transactions at a time.
 */
async function rawCopy(
  ctx: BenchContext,
  rows: Resolved[],
  batchRows: number,
  parallel: number,
  format: 'text' | 'binary',
) {
  const batches: (string | Buffer)[][] = [];
  for (let i = 0; i < rows.length; i += batchRows) {
    const batch = rows.slice(i, i + batchRows);
    batches.push(
      format === 'binary' ? copyBinary(batch) : batch.map(({ row, customerId }) => copyLine(row, customerId)),
    );
  }
  const sql = format === 'binary' ? COPY_BINARY_SQL : COPY_SQL;
  let next = 0;
  let copied = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const rows = await ctx.db.transaction('bench.raw-copy', (tx) =>
        tx.copyFrom('bench.raw-copy', sql, batch),
      );
      copied += rows;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rows: copied };
}
