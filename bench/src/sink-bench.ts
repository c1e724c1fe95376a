/**
 * Phase 2, the event sink's throughput: N realistic events, Avro-encoded exactly as the collector
 * encodes them, are produced to a fresh 6-partition topic; then the real sink process
 * (dist/services/event-sink/src/main.js, its own consumer group, EVENT_SINK_TOPIC pointing at the
 * fresh topic) drains it into customer_events. Rows/s is taken from the moment its first batch
 * committed to the moment the last did (its start-up, mostly the consumer-group join, is reported
 * apart). Baseline in the same run: the very same COPY text lines the sink writes, COPYed by the
 * bench through the project's gateway into the same table, in batches of the sink's mean batch
 * size with the sink's parallelism, each batch its own transaction.
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
import { median, round } from './stats.js';
import { deleteRegistrySubject, vacuumEvents } from './cleanup.js';

export interface SinkRun {
  run: number;
  order: 'sink-first' | 'raw-first';
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
      const sinkFirst = run % 2 === 1;
      const group = `${marker}-sink-r${run}`;
      let sink: Awaited<ReturnType<typeof runSink>> | undefined;
      if (sinkFirst) {
        sink = await runSink(ctx, topic, group, target, run);
      }
      const batchRows = Math.max(
        1,
        Math.round(sink?.meanBatchRows ?? runs[0]?.meanSinkBatchRows ?? sinkDefaults.maxBatchRecords),
      );
      progress(
        `sink run ${run}/${opts.runs}: raw ${sinkDefaults.copyFormat} COPY of the same ${n.toLocaleString('en-US')} rows, ` +
          `batches of ${batchRows}, ${sinkDefaults.concurrency} at a time`,
      );
      const raw = await rawCopy(ctx, resolved, batchRows, sinkDefaults.concurrency, sinkDefaults.copyFormat);
      if (raw.rows !== n)
        ctx.findings.push(`sink run ${run}: raw COPY wrote ${raw.rows} rows, expected ${n}`);
      progress(
        `  raw COPY: ${Math.round(raw.rows / raw.seconds).toLocaleString('en-US')} rows/s (${raw.seconds.toFixed(2)} s)`,
      );
      if (!sinkFirst) sink = await runSink(ctx, topic, group, target, run);
      const s = sink!;

      // Exactly once: the raw COPY wrote each line once, so every messageId must be in the table
      // exactly twice (once from the sink, once from the raw COPY): once means the sink lost it,
      // three times or more means it wrote it twice.
      const { rows } = await db.query<{ distinct_ids: number; once: number; extra: number; rows: number }>(
        'bench.sink-verify',
        `SELECT count(*)::int AS distinct_ids, (count(*) FILTER (WHERE c = 1))::int AS once,
                coalesce(sum(c - 2) FILTER (WHERE c > 2), 0)::int AS extra, coalesce(sum(c), 0)::int AS rows
         FROM (SELECT message_id, count(*) AS c FROM customer_events
               WHERE customer_id = ANY($1::uuid[]) AND source_system = $2 GROUP BY message_id) t`,
        [customerIds, sourceKey],
      );
      const found = rows[0]!;
      const sinkRows = found.rows - raw.rows;
      const lost = found.once + (n - found.distinct_ids);
      if (lost > 0 || found.extra > 0 || sinkRows !== n) {
        ctx.findings.push(
          `sink run ${run}: ${n} events on the topic; the sink committed ${sinkRows} rows, ` +
            `${lost} events missing, ${found.extra} written more than once`,
        );
      }
      const rawRowsPerSecond = raw.rows / raw.seconds;
      runs.push({
        run,
        order: sinkFirst ? 'sink-first' : 'raw-first',
        group,
        startupSeconds: round(s.startupSeconds, 2),
        drainSeconds: round(s.drainSeconds, 2),
        sinkRowsPerSecond: round(s.rowsPerSecond),
        sinkRowsPerSecondCold: round(s.rowsPerSecondCold),
        rawRowsPerSecond: round(rawRowsPerSecond),
        rawSeconds: round(raw.seconds, 2),
        rawBatchRows: batchRows,
        ratio: round(s.rowsPerSecond / rawRowsPerSecond, 3),
        meanSinkBatchRows: round(s.meanBatchRows, 1),
        sinkCpuPercent: s.cpuPercent,
        sinkBatches: s.batches,
        rowsFound: sinkRows,
        missing: lost,
        writtenTwice: found.extra,
        deadLettered: s.deadLettered,
        duplicatesDropped: s.duplicates,
        retries: s.retries,
      });

      progress(`sink run ${run}/${opts.runs}: deleting the run's rows`);
      await db.query(
        'bench.sink-clean-rows',
        'DELETE FROM customer_events WHERE customer_id = ANY($1::uuid[])',
        [customerIds],
      );
      await db.query('bench.sink-clean-dedup', 'DELETE FROM message_dedup WHERE source_key = $1', [
        sourceKey,
      ]);
      await db.query('bench.sink-clean-offsets', 'DELETE FROM consumer_offsets WHERE consumer_group = $1', [
        group,
      ]);
      await vacuumEvents(db);
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
      },
    };
  } finally {
    const admin = kafka.admin();
    await admin.connect().catch(() => {});
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
    const groups = Array.from({ length: opts.runs }, (_, i) => `${marker}-sink-r${i + 1}`);
    await admin.deleteGroups(groups).catch(() => {});
    await admin.disconnect().catch(() => {});
    await deleteRegistrySubject(opts.schemaRegistryUrl, valueSubject(`${topic}.dlq`));
  }
}

/** Runs the sink process over `topic` with `group` until `target` records are committed. */
async function runSink(ctx: BenchContext, topic: string, group: string, target: number, run: number) {
  const { db, opts } = ctx;
  progress(`sink run ${run}/${opts.runs}: event sink process on ${topic}, group ${group}`);
  const spawned = Date.now();
  const sinkProc = await startProcessor(PROCESSORS[0]!, opts, '', group, {
    name: `event-sink-r${run}`,
    env: { EVENT_SINK_TOPIC: topic },
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
