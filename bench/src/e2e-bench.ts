/**
 * Phase 3, end to end (HTTP accept -> committed row), with every processor running: the highest
 * offered rate the pipeline sustains, found by stepping the rate.
 *
 * The collector and the processors (processors.ts: the event sink, and identities, orders and campaigns
 * when they are built) run as processes on the bench's own topics (TOPIC_PREFIX), each with a
 * consumer group of its own. The traffic is mixed: batches of Segment calls (2% of them identify)
 * and, one request in a hundred each, a batch of orders and one of campaign events (a sending
 * provider's), so orders and campaign events are 1% of the items each.
 *
 * Each step offers a fixed rate for BENCH_E2E_STEP_SECONDS (after a 2 s ramp that is not counted)
 * and passes when: every request was answered 200 (no 503), at least 97% of the offered rate was
 * accepted, every processor's consumer lag stayed flat (sampled every second: its last sample no
 * more than max(1,000 records, half a second of its input) above its first), and the freshness p95
 * was <= 500 ms. The rate starts at BENCH_E2E_START_RATE and grows by half while steps pass; after
 * the first failure it is bisected between the last pass and the failure (BENCH_E2E_REFINE times).
 * Between steps the pipeline drains. The figure is the highest passing rate.
 *
 * Per event: the first event of every batch request is a probe (a page view of one of a few probe
 * customers whose timestamp equals its sentAt, so the sink's clock-skew correction makes its
 * occurred_at exactly the collector's receive time). The bench polls PostgreSQL every 50 ms for
 * probe rows; a probe's freshness is (start of the poll that first saw it) - occurred_at, i.e.
 * accept -> committed row, over-estimated by at most one poll interval plus the query time.
 *
 * CPU: every process of the pipeline (cpu.ts) over each step's window, as µs per accepted event,
 * and for each processor µs per record of its input topics (counted from the topics' offsets).
 *
 * Baseline in the same run, the floor of any Kafka -> PostgreSQL pipeline on this machine at that
 * moment: a 1-record produce (acks=all) to a bench topic, consumed with the sink's fetch wait, and
 * a committed PostgreSQL transaction, every 50 ms during each window.
 */
import {
  createConsumer,
  createProducer,
  ensureTopics,
  topicOffsets,
  type Consumer,
  type Producer,
} from '../../services/shared/src/kafka/client.js';
import { consumedTopics } from '../../services/shared/src/topics.js';
import { sleep } from '../../services/shared/src/retry.js';
import type { BenchContext } from './context.js';
import { collectorDelta, collectorMetrics, type RunningCollector } from './collector-bench.js';
import { describeErrors, paced, type LoadResult, type ProduceStats, type Target } from './load.js';
import { progress } from './log.js';
import { backendsOf, cpuDelta, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import {
  PROCESSORS,
  histogram,
  isBuilt,
  startProcessor,
  value,
  type RunningProcessor,
} from './processors.js';
import {
  histogramDelta,
  histogramQuantile,
  parseHistogram,
  percentile,
  round,
  shareAtOrBelow,
  sortedCopy,
} from './stats.js';
import { createBenchSegments, segmentsEvaluated } from './segment-workload.js';
import { vacuumHotTables } from './cleanup.js';

/** The sink's fetch wait (EVENT_SINK_MAX_WAIT_MS, default 100 ms), for the floor probe's consumer. */
const SINK_MAX_WAIT_MS = Number(process.env.EVENT_SINK_MAX_WAIT_MS ?? 100) || 100;
const FRESHNESS_GOAL_MS = 500;
const POLL_MS = 50;
const RAMP_SECONDS = 2;

export interface LagSamples {
  first: number;
  last: number;
  max: number;
  samples: number;
}

export interface E2eStep {
  step: number;
  targetEventsPerSecond: number;
  acceptedEventsPerSecond: number;
  http: LoadResult;
  errors: number;
  passed: boolean;
  /** Why it did not pass (empty when it did). */
  failures: string[];
  probesSent: number;
  probesSeen: number;
  probesLate: number;
  freshnessMs: { p50: number; p95: number; p99: number; max: number };
  sendToCommitMs: { p50: number; p95: number };
  floorMs: { p50: number; p95: number; samples: number };
  /** Per processor: consumer lag (records, summed over partitions) sampled every second of the window. */
  lag: Record<string, LagSamples>;
  keptUp: Record<string, boolean>;
  /** Records produced to each input topic during the window. */
  topicRecords: Record<string, number>;
  /** CPU seconds of each process in the window. */
  cpuSeconds: CpuSnapshot;
  /** CPU µs per accepted event, per process. */
  cpuUsPerEvent: Record<string, number>;
  /** CPU µs per record of its input topics, per processor. */
  cpuUsPerRecord: Record<string, number>;
  collectorProduce: ProduceStats | undefined;
  sinkLocks: { samples: number; activeSinkSessions: number; lockWaits: Record<string, number> };
  sinkHistogram: { count: number; shareWithin500ms: number; p50Ms: number; p95Ms: number };
  /**
   * The segments processor's segments_change_to_membership_seconds in the window: from the commit
   * of a customer change to the commit of the membership transition it caused.
   */
  segments?: { transitions: number; p50Ms: number; p95Ms: number; shareWithin1s: number };
}

export const SEGMENT_DELAY_GOAL_MS = 1_000;
const SEGMENT_DELAY = 'segments_change_to_membership_seconds';

export interface E2eFigures {
  topicPrefix: string;
  processors: { name: string; ran: boolean; note?: string }[];
  pollIntervalMs: number;
  stepSeconds: number;
  steps: E2eStep[];
  /** The highest passing step's rate; 0 when none passed. */
  sustainedEventsPerSecond: number;
  /** The step at that rate. */
  sustained: E2eStep | undefined;
  /** The lowest failing rate above it, when one was tried. */
  firstFailedEventsPerSecond: number | undefined;
  /** Active segments kept during the phase, and how long their first full evaluation took. */
  segments: number;
  segmentsEvaluatedSeconds: number | undefined;
}

export async function runE2eBench(ctx: BenchContext, collector: RunningCollector): Promise<E2eFigures> {
  const { opts, kafka, marker, prefix } = ctx;
  const http = ctx.http!;
  const events = http.templates.events;

  const processors: RunningProcessor[] = [];
  const listed: E2eFigures['processors'] = [];
  const floor = new FloorProbe(ctx, SINK_MAX_WAIT_MS);
  const poller = new ProbePoller(ctx);
  const locks = new LockSampler(ctx);
  const steps: E2eStep[] = [];
  let segmentIds: string[] = [];
  let segmentsEvaluatedSeconds: number | undefined;
  try {
    // The earlier phases' deleted rows, vacuumed first (autovacuum's part where it is off).
    await vacuumHotTables(ctx.db);
    for (const spec of PROCESSORS) {
      if (spec.name === 'segments' && !opts.e2eSegments) {
        listed.push({ name: spec.name, ran: false, note: 'BENCH_E2E_SEGMENTS=false: skipped' });
        continue;
      }
      if (!isBuilt(spec)) {
        listed.push({ name: spec.name, ran: false, note: `${spec.entry} not built: skipped` });
        progress(`e2e: ${spec.name} skipped (${spec.entry} does not exist)`);
        continue;
      }
      if (spec.name === 'segments') {
        segmentIds = await createBenchSegments(ctx.db, marker);
        progress(`e2e: ${segmentIds.length} active segments created`);
      }
      progress(`e2e: starting ${spec.name} on ${spec.topics.map((t) => prefix + t).join(', ')}`);
      processors.push(await startProcessor(spec, opts, prefix, `${marker}-e2e-${spec.name}`));
      listed.push({ name: spec.name, ran: true });
    }
    if (segmentIds.length > 0) {
      const started = Date.now();
      if (!(await segmentsEvaluated(ctx.db, segmentIds, 120_000)))
        throw new Error('e2e: the segments processor did not evaluate the bench segments within 120 s');
      segmentsEvaluatedSeconds = round((Date.now() - started) / 1000, 1);
      progress(`e2e: the ${segmentIds.length} segments evaluated in full in ${segmentsEvaluatedSeconds} s`);
    }
    if (!processors.some((p) => p.spec.name === 'event-sink'))
      throw new Error('e2e: the event sink is not built (dist/services/event-sink/src/main.js)');

    http.mixed = true;
    http.onSend = (n, at) => poller.sent(n, at);
    await floor.start();
    poller.start();
    const target: Target = {
      url: collector.url,
      path: '/v1/batch',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${ctx.source!.writeKey}:`).toString('base64')}`,
        'user-agent': 'cdp-bench (autocannon)',
      },
      nextBody: () => http.body(),
      nextRequest: () => http.request(),
    };

    const warm = Math.max(1, Math.round(opts.e2eStartRate / events));
    progress(
      `e2e: warming up at ${(warm * events).toLocaleString('en-US')} events/s until probes come through`,
    );
    const warmFrom = Date.now();
    await paced(target, { perSecond: warm, seconds: 2 });
    await poller.drain(0, Date.now(), 60_000);
    if (!poller.anySeen)
      throw new Error('e2e: no probe row reached customer_events within 60 s of the warm-up');
    await drained(processors, 30_000);
    progress(
      `e2e: pipeline flowing (${((Date.now() - warmFrom) / 1000).toFixed(1)} s after the warm-up started)`,
    );
    // Autovacuum's part, where it is off: statistics that know the warm-up's customers.
    await vacuumHotTables(ctx.db);

    const step = async (eventsPerSecond: number): Promise<E2eStep> => {
      const s = await runStep(ctx, steps.length + 1, eventsPerSecond, target, collector, processors, {
        floor,
        poller,
        locks,
      });
      steps.push(s);
      progress(describeStep(s));
      await drained(processors, 30_000);
      await vacuumHotTables(ctx.db);
      return s;
    };

    // Grow by half while steps pass; then bisect between the last pass and the first failure.
    const roundRate = (r: number) => Math.max(events, Math.round(r / events) * events);
    let pass: number | undefined;
    let fail: number | undefined;
    let rate = roundRate(opts.e2eStartRate);
    while (steps.length < opts.e2eMaxSteps) {
      const s = await step(rate);
      if (s.passed) {
        pass = rate;
        if (fail === undefined) {
          if (rate >= opts.e2eMaxRate) break;
          rate = roundRate(Math.min(opts.e2eMaxRate, rate * 1.5));
          continue;
        }
      } else {
        fail = rate;
        if (pass === undefined) {
          if (rate <= events) break;
          rate = roundRate(rate / 2);
          continue;
        }
      }
      // bisecting
      const refined = steps.filter((x) => x.targetEventsPerSecond > pass! && x.targetEventsPerSecond < fail!);
      const next = roundRate((pass! + fail!) / 2);
      if (refined.length >= opts.e2eRefine || next <= pass! || next >= fail!) break;
      rate = next;
    }

    const passed = steps.filter((s) => s.passed);
    const best = passed.sort((a, b) => b.targetEventsPerSecond - a.targetEventsPerSecond)[0];
    const failedAbove = steps
      .filter((s) => !s.passed && (!best || s.targetEventsPerSecond > best.targetEventsPerSecond))
      .sort((a, b) => a.targetEventsPerSecond - b.targetEventsPerSecond)[0];
    for (const s of steps) {
      // Errors at a rate the pipeline sustains would be a correctness problem; above it they are the 503s of overload.
      const lost = s.probesSent - s.probesSeen;
      if (lost > s.errors)
        ctx.findings.push(
          `e2e step ${s.step}: ${lost} probe events were sent but never reached customer_events (${s.errors} HTTP errors)`,
        );
    }
    return {
      topicPrefix: prefix,
      processors: listed,
      pollIntervalMs: POLL_MS,
      stepSeconds: opts.e2eStepSeconds,
      steps: steps.sort((a, b) => a.step - b.step),
      sustainedEventsPerSecond: best?.targetEventsPerSecond ?? 0,
      sustained: best,
      firstFailedEventsPerSecond: failedAbove?.targetEventsPerSecond,
      segments: segmentIds.length,
      segmentsEvaluatedSeconds,
    };
  } finally {
    http.mixed = false;
    http.onSend = undefined;
    await poller.stop();
    await floor.stop();
    for (const p of processors) await p.child.stop();
    const a = kafka.admin();
    await a.connect().catch(() => {});
    await a.deleteGroups(processors.map((p) => p.group)).catch(() => {});
    await a.disconnect().catch(() => {});
  }
}

/** Waits (bounded) until every processor's consumer lag is 0. */
async function drained(processors: RunningProcessor[], maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    let behind = 0;
    for (const p of processors) {
      const lag = await p.metricsText().then(
        (t) => value(t, 'lag'),
        () => NaN,
      );
      if (Number.isFinite(lag)) behind += lag;
    }
    if (behind === 0) return true;
    if (Date.now() > deadline) {
      progress(
        `e2e: the processors were still ${behind.toLocaleString('en-US')} records behind after ${maxMs / 1000} s; going on`,
      );
      return false;
    }
    await sleep(250);
  }
}

async function inputOffsets(ctx: BenchContext): Promise<Record<string, number>> {
  const topics = consumedTopics.map((t) => ctx.prefix + t);
  const offsets = await topicOffsets(ctx.kafka, topics);
  const out: Record<string, number> = {};
  for (const t of consumedTopics)
    out[t] = (offsets.get(ctx.prefix + t) ?? []).reduce((s, p) => s + p.high, 0);
  return out;
}

async function runStep(
  ctx: BenchContext,
  n: number,
  eventsPerSecond: number,
  target: Target,
  collector: RunningCollector,
  processors: RunningProcessor[],
  tools: { floor: FloorProbe; poller: ProbePoller; locks: LockSampler },
): Promise<E2eStep> {
  const { opts } = ctx;
  const { floor, poller, locks } = tools;
  const events = ctx.http!.templates.events;
  const perSecond = Math.max(1, Math.round(eventsPerSecond / events));
  const sink = processors.find((p) => p.spec.name === 'event-sink')!;
  progress(
    `e2e step ${n}: ${(perSecond * events).toLocaleString('en-US')} events/s offered for ${opts.e2eStepSeconds} s`,
  );

  const sinkBefore = histogram(await sink.metricsText(), 'receiveToCommit');
  const segmentsProcessor = processors.find((p) => p.spec.name === 'segments');
  const segmentsBefore = segmentsProcessor
    ? parseHistogram(await segmentsProcessor.metricsText(), SEGMENT_DELAY)
    : undefined;
  const produce0 = await collectorMetrics(collector.url);
  const pids = () => ({
    collector: collector.child.proc.pid,
    ...Object.fromEntries(processors.map((p) => [p.spec.name, p.child.proc.pid])),
  });
  // The PostgreSQL backends of the collector and the processors (their pools are open by now).
  const backends = await backendsOf(ctx.db, pids());
  let start = 0;
  let cpu0: CpuSnapshot | undefined;
  let offsets0: Promise<Record<string, number>> | undefined;
  const lagSamples = new Map<string, number[]>(processors.map((p) => [p.spec.name, []]));
  let sampling = false;
  const sampler = setInterval(() => {
    if (!cpu0 || sampling) return;
    sampling = true;
    void Promise.all(
      processors.map(async (p) => {
        const lag = await p.metricsText().then(
          (t) => value(t, 'lag'),
          () => NaN,
        );
        if (Number.isFinite(lag)) lagSamples.get(p.spec.name)!.push(lag);
      }),
    ).finally(() => (sampling = false));
  }, 1_000);
  const load = await paced(target, {
    perSecond,
    seconds: opts.e2eStepSeconds,
    onStart: () => {
      start = Date.now();
      setTimeout(() => {
        cpu0 = cpuSnapshot(pids(), backends);
        offsets0 = inputOffsets(ctx);
        floor.record(true);
        locks.start();
      }, RAMP_SECONDS * 1_000);
    },
  });
  const cpu1 = cpuSnapshot(pids(), new Map([...backends, ...(await backendsOf(ctx.db, pids()))]));
  const offsets1 = inputOffsets(ctx);
  clearInterval(sampler);
  const produce = collectorDelta(produce0, await collectorMetrics(collector.url));
  const lockStats = locks.stop();
  const from = start + RAMP_SECONDS * 1_000;
  const to = start + (RAMP_SECONDS + opts.e2eStepSeconds) * 1_000;
  const complete = await poller.drain(from, to, 30_000);
  const floorSamples = floor.record(false);
  const late = await poller.sweep(from, to);
  const sinkAfter = histogram(await sink.metricsText(), 'receiveToCommit');
  const segmentsAfter = segmentsProcessor
    ? parseHistogram(await segmentsProcessor.metricsText(), SEGMENT_DELAY)
    : undefined;
  const segmentDelay = segmentsAfter ? histogramDelta(segmentsAfter, segmentsBefore) : undefined;
  const probes = poller.window(from, to);

  const accepted = load.okPerSecond * events;
  const acceptedEvents = accepted * load.windowSeconds;
  const cpuSeconds = cpu0 ? cpuDelta(cpu0, cpu1) : {};
  const cpuUsPerEvent: Record<string, number> = {};
  for (const [name, s] of Object.entries(cpuSeconds))
    cpuUsPerEvent[name] = round((s * 1e6) / acceptedEvents, 1);
  const before = offsets0 ? await offsets0 : {};
  const after = await offsets1;
  const topicRecords: Record<string, number> = {};
  for (const t of Object.keys(after)) topicRecords[t] = after[t]! - (before[t] ?? NaN);
  const cpuUsPerRecord: Record<string, number> = {};
  const lag: Record<string, LagSamples> = {};
  const keptUp: Record<string, boolean> = {};
  const failures: string[] = [];
  for (const p of processors) {
    const records = p.spec.topics.reduce((s, t) => s + (topicRecords[t] ?? 0), 0);
    cpuUsPerRecord[p.spec.name] = round(((cpuSeconds[p.spec.name] ?? NaN) * 1e6) / records, 1);
    const samples = lagSamples.get(p.spec.name)!;
    const l: LagSamples = {
      first: samples[0] ?? NaN,
      last: samples[samples.length - 1] ?? NaN,
      max: samples.length ? Math.max(...samples) : NaN,
      samples: samples.length,
    };
    lag[p.spec.name] = l;
    const tolerance = Math.max(1_000, (records / opts.e2eStepSeconds) * 0.5);
    keptUp[p.spec.name] = samples.length === 0 || l.last <= Math.max(0, l.first) + tolerance;
    if (!keptUp[p.spec.name])
      failures.push(`${p.spec.name} fell behind (lag ${l.first} -> ${l.last} records)`);
  }

  const fresh = sortedCopy(probes.filter((p) => p.seen).map((p) => p.visible! - p.occurredAt!));
  const sendToCommit = sortedCopy(probes.filter((p) => p.seen).map((p) => p.visible! - p.sentAt));
  const floorSorted = sortedCopy(floorSamples);
  const hist = sinkAfter ? histogramDelta(sinkAfter, sinkBefore) : undefined;
  const p95 = percentile(fresh, 95);
  if (load.errors > 0) failures.push(`HTTP errors: ${describeErrors(load)}`);
  if (load.okPerSecond < 0.97 * perSecond)
    failures.push(`accepted ${Math.round(accepted)} of ${perSecond * events} events/s offered`);
  if (!(p95 <= FRESHNESS_GOAL_MS)) failures.push(`freshness p95 ${round(p95)} ms > ${FRESHNESS_GOAL_MS} ms`);
  if (!complete) failures.push('not every probe was committed within 30 s after the window');
  return {
    step: n,
    targetEventsPerSecond: perSecond * events,
    acceptedEventsPerSecond: round(accepted),
    http: load,
    errors: load.errors,
    passed: failures.length === 0,
    failures,
    probesSent: probes.length,
    probesSeen: fresh.length,
    probesLate: late,
    freshnessMs: {
      p50: round(percentile(fresh, 50)),
      p95: round(p95),
      p99: round(percentile(fresh, 99)),
      max: round(fresh.length ? fresh[fresh.length - 1]! : NaN),
    },
    sendToCommitMs: { p50: round(percentile(sendToCommit, 50)), p95: round(percentile(sendToCommit, 95)) },
    floorMs: {
      p50: round(percentile(floorSorted, 50), 1),
      p95: round(percentile(floorSorted, 95), 1),
      samples: floorSorted.length,
    },
    lag,
    keptUp,
    topicRecords,
    cpuSeconds: Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, round(v, 2)])),
    cpuUsPerEvent,
    cpuUsPerRecord,
    collectorProduce: produce,
    sinkLocks: lockStats,
    sinkHistogram: {
      count: hist?.count ?? 0,
      shareWithin500ms: round(hist ? shareAtOrBelow(hist, 0.5) : NaN, 4),
      p50Ms: round(hist ? histogramQuantile(hist, 0.5) * 1000 : NaN),
      p95Ms: round(hist ? histogramQuantile(hist, 0.95) * 1000 : NaN),
    },
    ...(segmentDelay
      ? {
          segments: {
            transitions: segmentDelay.count,
            p50Ms: round(histogramQuantile(segmentDelay, 0.5) * 1000),
            p95Ms: round(histogramQuantile(segmentDelay, 0.95) * 1000),
            shareWithin1s: round(shareAtOrBelow(segmentDelay, 1), 4),
          },
        }
      : {}),
  };
}

function describeStep(s: E2eStep): string {
  const cpu = Object.entries(s.cpuUsPerEvent)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const perRecord = Object.entries(s.cpuUsPerRecord)
    .map(([k, v]) => `${k} ${v} µs/record${s.keptUp[k] ? '' : ' (FELL BEHIND)'}`)
    .join(', ');
  return (
    `  ${s.passed ? 'sustained' : 'NOT sustained'}: accepted ${s.acceptedEventsPerSecond.toLocaleString('en-US')} of ` +
    `${s.targetEventsPerSecond.toLocaleString('en-US')} events/s, errors ${s.errors}, HTTP p50 ${s.http.latencyMs.p50} ms p99 ${s.http.latencyMs.p99} ms; ` +
    `freshness p50 ${s.freshnessMs.p50} ms p95 ${s.freshnessMs.p95} ms (${s.probesSeen}/${s.probesSent} probes), floor p95 ${s.floorMs.p95} ms; ` +
    `lag ${Object.entries(s.lag)
      .map(([k, l]) => `${k} ${l.first}->${l.last}`)
      .join(', ')}; sink sessions waiting on locks ${lockShare(s.sinkLocks)}\n` +
    (s.segments
      ? `    segments: ${s.segments.transitions.toLocaleString('en-US')} transitions, change -> membership p50 ${s.segments.p50Ms} ms p95 ${s.segments.p95Ms} ms (goal p95 < ${SEGMENT_DELAY_GOAL_MS} ms)\n`
      : '') +
    `    CPU µs/event: ${cpu}; ${perRecord}` +
    (s.failures.length ? `\n    why not: ${s.failures.join('; ')}` : '')
  );
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
           FROM pg_stat_activity WHERE application_name LIKE 'event-sink/%' AND state = 'active' GROUP BY 1`,
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

function lockShare(l: E2eStep['sinkLocks']): string {
  const waits = Object.values(l.lockWaits).reduce((a, b) => a + b, 0);
  return l.activeSinkSessions > 0
    ? `${Math.round((waits / l.activeSinkSessions) * 100)}% of active samples`
    : 'n/a';
}
