/**
 * Phase 3, end-to-end freshness: the collector and the event sink as processes, HTTP batches at a
 * fixed rate through the collector into cdp.events and on into customer_events.
 *
 * Per event: the first event of every request is a probe (a page view of one of a few probe
 * customers whose timestamp equals its sentAt, so the sink's clock-skew correction makes its
 * occurred_at exactly the collector's receive time). The bench polls PostgreSQL every 50 ms for
 * probe rows; a probe's freshness is (start of the poll that first saw it) - occurred_at, i.e.
 * accept -> committed row, over-estimated by at most one poll interval plus the query time.
 * Cross-check: the sink's own sink_receive_to_commit_seconds histogram over all events.
 *
 * Baseline in the same run, the floor of any Kafka -> PostgreSQL pipeline on this machine at that
 * moment: a 1-record produce (acks=all) to a bench topic, consumed with the sink's fetch wait, and
 * a committed PostgreSQL transaction, every 50 ms during the window.
 *
 * The sink here has its own consumer group on the real cdp.events; its committed Kafka offsets are
 * set to the end of the topic before it starts, so it does not first replay the topic's history.
 */
import {
  createConsumer,
  createProducer,
  ensureTopics,
  type Consumer,
  type Producer,
} from '../../services/shared/src/kafka/client.js';
import { Topics } from '../../services/shared/src/topics.js';
import { sleep } from '../../services/shared/src/retry.js';
import { loadSinkConfig } from '../../services/event-sink/src/config.js';
import type { BenchContext } from './context.js';
import { batchTarget, collectorDelta, collectorMetrics, type RunningCollector } from './collector-bench.js';
import { describeErrors, paced, type LoadResult, type ProduceStats } from './load.js';
import { cpuSeconds, freePort, startSinkChild, waitReady, type Child } from './procs.js';
import { progress } from './log.js';
import {
  histogramDelta,
  histogramQuantile,
  median,
  parseGauge,
  parseHistogram,
  percentile,
  round,
  shareAtOrBelow,
  sortedCopy,
  type PromHistogram,
} from './stats.js';

export interface E2eRun {
  run: number;
  targetEventsPerSecond: number;
  acceptedEventsPerSecond: number;
  http: LoadResult;
  /** CPU used during the load, % of one core. */
  collectorCpuPercent: number;
  /** The collector's produce requests to Kafka during the load (from its /metrics). */
  collectorProduce: ProduceStats | undefined;
  sinkCpuPercent: number;
  probesSent: number;
  probesSeen: number;
  /** Probes first seen by the final sweep only (their figure is an upper bound). */
  probesLate: number;
  freshnessMs: { p50: number; p95: number; p99: number; max: number };
  sendToCommitMs: { p50: number; p95: number };
  floorMs: { p50: number; p95: number; samples: number };
  p95Ratio: number;
  p50Ratio: number;
  /** pg_stat_activity samples (every 200 ms) of active event-sink sessions, and how many were waiting on locks. */
  sinkLocks: { samples: number; activeSinkSessions: number; lockWaits: Record<string, number> };
  /** The e2e sink's consumer lag (sum over partitions) after the drain. */
  sinkLagAfterDrain: number;
  sinkHistogram: { count: number; shareWithin500ms: number; p50Ms: number; p95Ms: number };
}

export interface E2eFigures {
  rateCapped: boolean;
  targetEventsPerSecond: number;
  group: string;
  pollIntervalMs: number;
  runs: E2eRun[];
  median: {
    acceptedEventsPerSecond: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    floorP50Ms: number;
    floorP95Ms: number;
    p50Ratio: number;
    p95Ratio: number;
    sinkShareWithin500ms: number;
  };
}

const POLL_MS = 50;

/**
 * `collectorSustained`: the rate the collector sustained in phase 1 under paced load (70% of its
 * closed-loop maximum). When it is below the goal's rate, the e2e phase runs at it: at the
 * collector's maximum itself the collector saturates (it shares the two cores with the sink here)
 * and the figure would measure its queue, not the pipeline.
 */
export async function runE2eBench(
  ctx: BenchContext,
  collector: RunningCollector,
  collectorSustained: number | undefined,
): Promise<E2eFigures> {
  const { opts, kafka, marker } = ctx;
  const events = opts.batchEvents;
  const cap = collectorSustained;
  const rateCapped = cap !== undefined && cap < opts.e2eRate;
  const targetEvents = rateCapped ? cap : opts.e2eRate;
  const perSecond = Math.max(1, Math.round(targetEvents / events));
  if (rateCapped) {
    ctx.warnings.push(
      `end to end: the collector sustained ${cap} events/s in phase 1 (${opts.paceShare}% of its maximum), ` +
        `below the goal's ${opts.e2eRate}; freshness is measured at ${perSecond * events} events/s`,
    );
  }

  const group = `${marker}-e2e`;
  const sinkDefaults = loadSinkConfig(process.env);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(Topics.events);
    await admin.setOffsets({
      groupId: group,
      topic: Topics.events,
      partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
    });
  } finally {
    await admin.disconnect();
  }

  const port = await freePort();
  progress(`e2e: event sink process on ${Topics.events}, group ${group}, starting at the end of the topic`);
  const sink: Child = startSinkChild('event-sink-e2e', opts, Topics.events, group, port);
  const floor = new FloorProbe(ctx, sinkDefaults.maxWaitMs);
  const poller = new ProbePoller(ctx);
  const http = ctx.http!;
  http.onSend = (n, at) => poller.sent(n, at);
  const scrapeText = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const scrape = async (): Promise<PromHistogram | undefined> =>
    parseHistogram(await scrapeText(), 'sink_receive_to_commit_seconds');
  const locks = new LockSampler(ctx);

  try {
    await waitReady(sink, `http://127.0.0.1:${port}/readyz`);
    await floor.start();
    poller.start();
    const target = batchTarget(ctx, collector.url);

    progress(
      `e2e: warming up at ${(perSecond * events).toLocaleString('en-US')} events/s until probes come through (not counted)`,
    );
    const warmFrom = Date.now();
    await paced(target, { perSecond, seconds: 2 });
    await poller.drain(0, Date.now(), 60_000);
    if (!poller.anySeen) {
      throw new Error('e2e: no probe row reached customer_events within 60 s of the warm-up');
    }
    progress(
      `e2e: pipeline flowing (${((Date.now() - warmFrom) / 1000).toFixed(1)} s after the warm-up started)`,
    );

    const runs: E2eRun[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      progress(
        `e2e run ${run}/${opts.runs}: ${(perSecond * events).toLocaleString('en-US')} events/s for ${opts.e2eSeconds} s`,
      );
      const before = await scrape();
      locks.start();
      let start = 0;
      floor.record(true);
      const cpu0 = [cpuSeconds(collector.child.proc.pid), cpuSeconds(sink.proc.pid)];
      const produce0 = await collectorMetrics(collector.url);
      const t0 = Date.now();
      const load = await paced(target, {
        perSecond,
        seconds: opts.e2eSeconds,
        onStart: () => (start = Date.now()),
      });
      const wall = (Date.now() - t0) / 1000;
      const produce = collectorDelta(produce0, await collectorMetrics(collector.url));
      const cpu = [cpuSeconds(collector.child.proc.pid) - cpu0[0]!, cpuSeconds(sink.proc.pid) - cpu0[1]!];
      const from = start + 2_000;
      const to = start + (2 + opts.e2eSeconds) * 1_000;
      const complete = await poller.drain(from, to, 30_000);
      const floorSamples = floor.record(false);
      const late = await poller.sweep(from, to);
      const after = await scrape();
      const lockStats = locks.stop();
      const lag = parseGauge(await scrapeText(), 'sink_consumer_lag');
      const probes = poller.window(from, to);
      if (!complete)
        ctx.warnings.push(`e2e run ${run}: not every probe was committed within 30 s after the window`);

      const fresh = sortedCopy(probes.filter((p) => p.seen).map((p) => p.visible! - p.occurredAt!));
      const sendToCommit = sortedCopy(probes.filter((p) => p.seen).map((p) => p.visible! - p.sentAt));
      const floorSorted = sortedCopy(floorSamples);
      const hist = after ? histogramDelta(after, before) : undefined;
      const r: E2eRun = {
        run,
        targetEventsPerSecond: perSecond * events,
        acceptedEventsPerSecond: round(load.okPerSecond * events),
        http: load,
        collectorCpuPercent: round((cpu[0]! / wall) * 100, 1),
        collectorProduce: produce,
        sinkCpuPercent: round((cpu[1]! / wall) * 100, 1),
        probesSent: probes.length,
        probesSeen: fresh.length,
        probesLate: late,
        freshnessMs: {
          p50: round(percentile(fresh, 50)),
          p95: round(percentile(fresh, 95)),
          p99: round(percentile(fresh, 99)),
          max: round(fresh.length ? fresh[fresh.length - 1]! : NaN),
        },
        sendToCommitMs: {
          p50: round(percentile(sendToCommit, 50)),
          p95: round(percentile(sendToCommit, 95)),
        },
        floorMs: {
          p50: round(percentile(floorSorted, 50), 1),
          p95: round(percentile(floorSorted, 95), 1),
          samples: floorSorted.length,
        },
        p95Ratio: round(percentile(fresh, 95) / percentile(floorSorted, 95), 2),
        p50Ratio: round(percentile(fresh, 50) / percentile(floorSorted, 50), 2),
        sinkLocks: lockStats,
        sinkLagAfterDrain: lag,
        sinkHistogram: {
          count: hist?.count ?? 0,
          shareWithin500ms: round(hist ? shareAtOrBelow(hist, 0.5) : NaN, 4),
          p50Ms: round(hist ? histogramQuantile(hist, 0.5) * 1000 : NaN),
          p95Ms: round(hist ? histogramQuantile(hist, 0.95) * 1000 : NaN),
        },
      };
      runs.push(r);
      progress(
        `  accepted ${r.acceptedEventsPerSecond.toLocaleString('en-US')} events/s (HTTP p50 ${load.latencyMs.p50} ms, errors ${load.errors}` +
          (produce
            ? `; collector: ${produce.requests} produce requests of ${produce.meanRecords} records, ${produce.meanMs} ms each, ` +
              `its own request p50 ${produce.serverP50Ms} ms p99 ${produce.serverP99Ms} ms`
            : '') +
          '); ' +
          `freshness p50 ${r.freshnessMs.p50} ms, p95 ${r.freshnessMs.p95} ms over ${r.probesSeen}/${r.probesSent} probes; ` +
          `floor p95 ${r.floorMs.p95} ms; sink sessions waiting on locks ${lockShare(r.sinkLocks)}; CPU collector ${r.collectorCpuPercent}%, sink ${r.sinkCpuPercent}%, bench ${r.http.client.cpuPercent}% (loop delay p99 ${r.http.client.loopDelayP99Ms} ms); sink histogram: ${(r.sinkHistogram.shareWithin500ms * 100).toFixed(1)}% within 500 ms`,
      );
      const lost = probes.length - fresh.length;
      if (load.okPerSecond < 0.95 * perSecond) {
        ctx.warnings.push(
          `e2e run ${run}: the pipeline accepted ${r.acceptedEventsPerSecond} of the ${perSecond * events} events/s offered ` +
            `(HTTP p50 ${load.latencyMs.p50} ms: answers slower than 1 s make the paced load fall behind)`,
        );
      }
      if (load.errors > 0) ctx.findings.push(`e2e run ${run}: HTTP errors: ${describeErrors(load)}`);
      if (lost > load.errors) {
        ctx.findings.push(
          `e2e run ${run}: ${lost} probe events were sent but never reached customer_events (${load.errors} HTTP errors)`,
        );
      }
    }

    const m = (f: (r: E2eRun) => number) => median(runs.map(f));
    return {
      rateCapped,
      targetEventsPerSecond: perSecond * events,
      group,
      pollIntervalMs: POLL_MS,
      runs,
      median: {
        acceptedEventsPerSecond: round(m((r) => r.acceptedEventsPerSecond)),
        p50Ms: round(m((r) => r.freshnessMs.p50)),
        p95Ms: round(m((r) => r.freshnessMs.p95)),
        p99Ms: round(m((r) => r.freshnessMs.p99)),
        floorP50Ms: round(
          m((r) => r.floorMs.p50),
          1,
        ),
        floorP95Ms: round(
          m((r) => r.floorMs.p95),
          1,
        ),
        p50Ratio: round(
          m((r) => r.p50Ratio),
          2,
        ),
        p95Ratio: round(
          m((r) => r.p95Ratio),
          2,
        ),
        sinkShareWithin500ms: round(
          m((r) => r.sinkHistogram.shareWithin500ms),
          4,
        ),
      },
    };
  } finally {
    http.onSend = undefined;
    await poller.stop();
    await floor.stop();
    await sink.stop();
    const a = kafka.admin();
    await a.connect().catch(() => {});
    await a.deleteGroups([group]).catch(() => {});
    await a.disconnect().catch(() => {});
  }
}

interface Probe {
  n: number;
  sentAt: number;
  seen: boolean;
  occurredAt?: number;
  visible?: number;
}

/** Finds probe rows in customer_events as they commit. */
class ProbePoller {
  private readonly probes = new Map<number, Probe>();
  private readonly order: number[] = [];
  private head = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly ids: string[];
  private readonly pattern: RegExp;
  private lastSeenAt = 0;

  constructor(private readonly ctx: BenchContext) {
    this.ids = [...ctx.probes!.values()];
    this.pattern = new RegExp(`^${ctx.marker}-(\\d+)-p$`);
  }

  sent(n: number, at: number): void {
    this.probes.set(n, { n, sentAt: at, seen: false });
    this.order.push(n);
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        try {
          await this.poll();
        } catch (err) {
          this.ctx.warnings.push(`e2e: a probe poll failed: ${(err as Error).message}`);
        }
        await sleep(Math.max(0, POLL_MS - (Date.now() - t)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The oldest probe not seen yet (ignoring any older than 60 s: the final sweep handles those). */
  private oldestPending(now: number): number | undefined {
    while (this.head < this.order.length) {
      const p = this.probes.get(this.order[this.head]!)!;
      if (p.seen || p.sentAt < now - 60_000) this.head++;
      else return p.sentAt;
    }
    return undefined;
  }

  private async poll(): Promise<void> {
    const visible = Date.now();
    const oldest = this.oldestPending(visible);
    if (oldest === undefined) return;
    await this.fetch(new Date(oldest - 2_000), visible);
  }

  private async fetch(since: Date, visible: number): Promise<number> {
    const { rows } = await this.ctx.db.query<{ message_id: string; occ: number }>(
      'bench.e2e-probes',
      `SELECT message_id, (extract(epoch FROM occurred_at) * 1000)::float8 AS occ
       FROM customer_events WHERE customer_id = ANY($1::uuid[]) AND occurred_at >= $2`,
      [this.ids, since],
    );
    let fresh = 0;
    for (const row of rows) {
      const m = this.pattern.exec(row.message_id);
      if (!m) continue;
      const p = this.probes.get(Number(m[1]));
      if (!p || p.seen) continue;
      p.seen = true;
      p.occurredAt = row.occ;
      p.visible = visible;
      this.lastSeenAt = visible;
      fresh++;
    }
    return fresh;
  }

  /** Probes sent in [from, to). */
  window(from: number, to: number): Probe[] {
    return [...this.probes.values()].filter((p) => p.sentAt >= from && p.sentAt < to);
  }

  /**
   * Waits until every probe sent in [from, to) was seen; gives up (false) after `maxMs`, or when
   * probes had been coming and none came for 5 s (a request that failed never produces one).
   */
  async drain(from: number, to: number, maxMs: number): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    const started = Date.now();
    for (;;) {
      let pending = 0;
      for (const p of this.probes.values()) if (!p.seen && p.sentAt >= from && p.sentAt < to) pending++;
      if (pending === 0) return true;
      if (Date.now() > deadline) return false;
      if (this.lastSeenAt > 0 && Date.now() - Math.max(this.lastSeenAt, started) > 5_000) return false;
      await sleep(POLL_MS);
    }
  }

  get anySeen(): boolean {
    return this.lastSeenAt > 0;
  }

  /** A last look for probes the polls missed; returns how many it found (upper-bound figures). */
  async sweep(from: number, to: number): Promise<number> {
    if (!this.window(from, to).some((p) => !p.seen)) return 0;
    return this.fetch(new Date(from - 2_000), Date.now());
  }
}

/** The Kafka -> PostgreSQL floor: produce one record, consume it, commit a transaction. */
class FloorProbe {
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private readonly topic: string;
  private readonly sentAt = new Map<string, number>();
  private samples: number[] = [];
  private recording = false;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private lastConsumed = 0;

  constructor(
    private readonly ctx: BenchContext,
    private readonly maxWaitMs: number,
  ) {
    this.topic = `cdpbench.${ctx.tag}.floor`;
  }

  async start(): Promise<void> {
    const { kafka, db, marker } = this.ctx;
    await ensureTopics(kafka, [{ topic: this.topic, partitions: 1 }]);
    this.producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.consumer = createConsumer(kafka, { groupId: `${marker}-floor`, maxWaitTimeInMs: this.maxWaitMs });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.value?.toString() ?? '';
        const t0 = this.sentAt.get(id);
        await db.transaction('bench.floor', (tx) => tx.query('bench.floor', 'SELECT pg_current_xact_id()'));
        this.lastConsumed = Date.now();
        if (t0 !== undefined) {
          this.sentAt.delete(id);
          if (this.recording) this.samples.push(Date.now() - t0);
        }
      },
    });
    // Ready once a record goes all the way through (the group join takes a few seconds).
    const deadline = Date.now() + 60_000;
    while (this.lastConsumed === 0) {
      if (Date.now() > deadline)
        throw new Error('e2e: the floor probe consumer received nothing within 60 s');
      await this.send();
      await sleep(500);
    }
    this.timer = setInterval(() => void this.send().catch(() => {}), 50);
  }

  private async send(): Promise<void> {
    const id = String(this.seq++);
    this.sentAt.set(id, Date.now());
    await this.producer!.send({ topic: this.topic, acks: -1, messages: [{ value: id }] });
  }

  /** Starts (true) or stops (false) recording; stopping returns the samples, in ms. */
  record(on: boolean): number[] {
    this.recording = on;
    const out = this.samples;
    this.samples = [];
    return out;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.disconnect().catch(() => {});
    await this.producer?.disconnect().catch(() => {});
    const admin = this.ctx.kafka.admin();
    await admin.connect().catch(() => {});
    await admin.deleteTopics({ topics: [this.topic], timeout: 10_000 }).catch(() => {});
    await admin.deleteGroups([`${this.ctx.marker}-floor`]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Samples pg_stat_activity while a window runs: how often event-sink sessions (ours and any other
 * sink on the same database) were waiting on a lock, and on which kind. Two sink groups consuming
 * the same events insert the same (source, messageId) into message_dedup, and the second waits for
 * the first one's transaction: this shows it.
 */
class LockSampler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  samples = 0;
  sinkSessions = 0;
  waits: Record<string, number> = {};

  constructor(private readonly ctx: BenchContext) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.ctx.db
        .query<{ waiting: string | null; n: number }>(
          'bench.e2e-locks',
          `SELECT CASE WHEN wait_event_type = 'Lock' THEN wait_event END AS waiting, count(*)::int AS n
           FROM pg_stat_activity WHERE application_name = 'event-sink' AND state = 'active' GROUP BY 1`,
        )
        .then((r) => {
          this.samples++;
          for (const row of r.rows) {
            this.sinkSessions += row.n;
            if (row.waiting) this.waits[row.waiting] = (this.waits[row.waiting] ?? 0) + row.n;
          }
        })
        .catch(() => {})
        .finally(() => (this.busy = false));
    }, 200);
  }

  stop(): { samples: number; activeSinkSessions: number; lockWaits: Record<string, number> } {
    clearInterval(this.timer);
    const out = { samples: this.samples, activeSinkSessions: this.sinkSessions, lockWaits: this.waits };
    this.samples = 0;
    this.sinkSessions = 0;
    this.waits = {};
    return out;
  }
}

function lockShare(l: E2eRun['sinkLocks']): string {
  const waits = Object.values(l.lockWaits).reduce((a, b) => a + b, 0);
  return l.activeSinkSessions > 0
    ? `${Math.round((waits / l.activeSinkSessions) * 100)}% of active samples`
    : 'n/a';
}
