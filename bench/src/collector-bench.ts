/**
 * Phase 1, the collector alone: POST /v1/batch with 100-event batches, first closed loop to find
 * the maximum accepted rate, then paced at a share (70%) of it for latency. The same two loads
 * against a trivial Node HTTP server in the same run give this machine's HTTP ceiling, the
 * baseline of every ratio.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoPath } from '../../services/shared/src/repo-path.js';
import type { BenchContext } from './context.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './profile.js';
import {
  closedLoop,
  describeErrors,
  paced,
  type LoadResult,
  type ProduceStats,
  type Target,
} from './load.js';
import { cpuSeconds, freePort, startChild, waitReady, type Child } from './procs.js';
import { progress } from './log.js';
import {
  histogramDelta,
  histogramQuantile,
  median,
  parseHistogram,
  round,
  type PromHistogram,
} from './stats.js';

export interface CollectorRun {
  run: number;
  order: 'baseline-first' | 'collector-first';
  collectorMax: LoadResult;
  baselineMax: LoadResult;
  collectorPaced: LoadResult;
  baselinePaced: LoadResult;
  /** Derived, per run. */
  acceptedEventsPerSecond: number;
  baselineEventsPerSecond: number;
  maxRatio: number;
  pacedEventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  p99Ratio: number;
  pacedErrors: number;
  /** Collector CPU per accepted event, closed loop and paced. */
  cpuUsPerEventMax: number;
  cpuUsPerEventPaced: number;
}

export interface CollectorFigures {
  runs: CollectorRun[];
  median: {
    acceptedEventsPerSecond: number;
    baselineEventsPerSecond: number;
    maxRatio: number;
    pacedEventsPerSecond: number;
    pacedTargetEventsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    baselineP50Ms: number;
    baselineP99Ms: number;
    p50Ratio: number;
    p99Ratio: number;
    pacedErrors: number;
    cpuUsPerEventMax: number;
    cpuUsPerEventPaced: number;
  };
  requestBytes: number;
  connectionsClosedLoop: number;
  connectionsPaced: number;
  latencyBoundAboveMs: number;
}

export interface RunningCollector {
  child: Child;
  url: string;
  port: number;
}

/** The collector as a child process on the bench's topics; `nodeArgs` e.g. --cpu-prof. */
export async function startCollector(
  ctx: BenchContext,
  name = 'collector',
  nodeArgs: string[] = [],
): Promise<RunningCollector> {
  const port = await freePort();
  const child = startChild(
    name,
    'dist/services/collector/src/main.js',
    {
      COLLECTOR_PORT: String(port),
      COLLECTOR_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TOPIC_PREFIX: ctx.prefix,
      DATABASE_URL: ctx.opts.databaseUrl,
      KAFKA_BROKERS: ctx.opts.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: ctx.opts.schemaRegistryUrl,
    },
    nodeArgs,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/readyz`);
  return { child, url, port };
}

export async function startBaselineServer(): Promise<RunningCollector> {
  const port = await freePort();
  const child = startChild('http-baseline', 'dist/bench/src/echo-server.js', {
    BENCH_ECHO_PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/`);
  return { child, url, port };
}

export function batchTarget(ctx: BenchContext, url: string): Target {
  const http = ctx.http!;
  return {
    url,
    path: '/v1/batch',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${ctx.source!.writeKey}:`).toString('base64')}`,
      'user-agent': 'cdp-bench (autocannon)',
    },
    nextBody: () => http.body(),
  };
}

export interface CollectorMetricsSnapshot {
  seconds: PromHistogram | undefined;
  records: PromHistogram | undefined;
  requests: PromHistogram | undefined;
}

/** The collector's produce and request-duration histograms, from its /metrics. */
export async function collectorMetrics(url: string): Promise<CollectorMetricsSnapshot | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    return {
      seconds: parseHistogram(text, 'collector_produce_duration_seconds'),
      records: parseHistogram(text, 'collector_produce_batch_records'),
      requests: parseHistogram(text, 'collector_request_duration_seconds'),
    };
  } catch {
    return undefined;
  }
}

/**
 * What the collector did between two snapshots: its produce requests to Kafka (count, records
 * each, mean duration from sendBatch to acknowledgement, queueing behind earlier ones included)
 * and the request duration as Fastify measures it (from the request's headers to the response;
 * p50/p99 interpolated in its buckets, capped at its last bound of 5 s).
 */
export function collectorDelta(
  before: CollectorMetricsSnapshot | undefined,
  after: CollectorMetricsSnapshot | undefined,
): ProduceStats | undefined {
  if (!after?.seconds || !after.records) return undefined;
  const sec = histogramDelta(after.seconds, before?.seconds);
  const rec = histogramDelta(after.records, before?.records);
  const req = after.requests ? histogramDelta(after.requests, before?.requests) : undefined;
  return {
    requests: sec.count,
    meanMs: round((sec.sum / (sec.count || 1)) * 1000, 2),
    meanRecords: round(rec.sum / (rec.count || 1), 1),
    serverP50Ms: req ? round(histogramQuantile(req, 0.5) * 1000, 1) : NaN,
    serverP99Ms: req ? round(histogramQuantile(req, 0.99) * 1000, 1) : NaN,
  };
}

/** Runs `load` against `server`, adding the server's CPU use and (collector) its produce metrics. */
export async function measured(
  server: RunningCollector,
  load: () => Promise<LoadResult>,
  withProduce: boolean,
  itemsPerRequest = 100,
): Promise<LoadResult> {
  const before = withProduce ? await collectorMetrics(server.url) : undefined;
  const cpu0 = cpuSeconds(server.child.proc.pid);
  const t0 = Date.now();
  const result = await load();
  const cpu = cpuSeconds(server.child.proc.pid) - cpu0;
  result.serverCpuPercent = round((cpu / ((Date.now() - t0) / 1000)) * 100, 1);
  // CPU per accepted item, over the whole run (warm-up included, so the requests of the warm-up count too)
  const accepted = Object.entries(result.statuses).reduce((n, [st, c]) => (st === '200' ? n + c : n), 0);
  const wholeRun = accepted * ((Date.now() - t0) / 1000 / result.windowSeconds);
  result.serverCpuUsPerItem = round((cpu * 1e6) / (wholeRun * itemsPerRequest), 1);
  if (withProduce) result.produce = collectorDelta(before, await collectorMetrics(server.url));
  return result;
}

const fmt = (r: LoadResult, events: number) =>
  `${Math.round(r.okPerSecond * events).toLocaleString('en-US')} events/s accepted, ` +
  `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}, server CPU ${r.serverCpuPercent}% (${r.serverCpuUsPerItem} µs/event), bench CPU ${r.client.cpuPercent}%` +
  (r.produce
    ? `, ${r.produce.requests} produce requests of ${r.produce.meanRecords} records, ${r.produce.meanMs} ms each, ` +
      `collector-side request p50 ${r.produce.serverP50Ms} ms p99 ${r.produce.serverP99Ms} ms`
    : '');

export async function runCollectorBench(
  ctx: BenchContext,
  collector: RunningCollector,
): Promise<CollectorFigures> {
  const { opts } = ctx;
  const events = opts.batchEvents;
  const baseline = await startBaselineServer();
  try {
    const colTarget = batchTarget(ctx, collector.url);
    const baseTarget = batchTarget(ctx, baseline.url);

    progress('collector: warming up both servers (3 s closed loop each, not counted)');
    await closedLoop(baseTarget, { connections: opts.maxConnections, seconds: 2, warmupSeconds: 1 });
    await closedLoop(colTarget, { connections: opts.maxConnections, seconds: 2, warmupSeconds: 1 });

    const runs: CollectorRun[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      const baselineFirst = run % 2 === 1;
      const closed = (t: Target) =>
        measured(
          t === colTarget ? collector : baseline,
          () =>
            closedLoop(t, { connections: opts.maxConnections, seconds: opts.maxSeconds, warmupSeconds: 1 }),
          t === colTarget,
          events,
        );

      progress(
        `collector run ${run}/${opts.runs}: closed loop, ${opts.maxConnections} connections, ${opts.maxSeconds} s each`,
      );
      let baselineMax: LoadResult;
      let collectorMax: LoadResult;
      if (baselineFirst) {
        baselineMax = await closed(baseTarget);
        collectorMax = await closed(colTarget);
      } else {
        collectorMax = await closed(colTarget);
        baselineMax = await closed(baseTarget);
      }
      progress(`  collector max: ${fmt(collectorMax, events)}`);
      progress(`  baseline  max: ${fmt(baselineMax, events)}`);
      if (collectorMax.okPerSecond <= 0) {
        throw new Error(
          `collector accepted nothing in the closed-loop run (statuses ${JSON.stringify(collectorMax.statuses)})`,
        );
      }

      const perSecond = Math.max(1, Math.round((collectorMax.okPerSecond * opts.paceShare) / 100));
      progress(
        `collector run ${run}/${opts.runs}: paced at ${opts.paceShare}% = ${perSecond} requests/s ` +
          `(${(perSecond * events).toLocaleString('en-US')} events/s), ${opts.paceSeconds} s each`,
      );
      const pacedAt = (t: Target) =>
        measured(
          t === colTarget ? collector : baseline,
          () => paced(t, { perSecond, seconds: opts.paceSeconds }),
          t === colTarget,
          events,
        );
      let baselinePaced: LoadResult;
      let collectorPaced: LoadResult;
      if (baselineFirst) {
        baselinePaced = await pacedAt(baseTarget);
        collectorPaced = await pacedAt(colTarget);
      } else {
        collectorPaced = await pacedAt(colTarget);
        baselinePaced = await pacedAt(baseTarget);
      }
      progress(`  collector paced: ${fmt(collectorPaced, events)}`);
      progress(`  baseline  paced: ${fmt(baselinePaced, events)}`);
      if (collectorPaced.errors > 0) {
        ctx.findings.push(
          `collector run ${run}: errors at ${perSecond * events} events/s paced: ${describeErrors(collectorPaced)}`,
        );
      }

      runs.push({
        run,
        order: baselineFirst ? 'baseline-first' : 'collector-first',
        collectorMax,
        baselineMax,
        collectorPaced,
        baselinePaced,
        acceptedEventsPerSecond: round(collectorMax.okPerSecond * events),
        baselineEventsPerSecond: round(baselineMax.okPerSecond * events),
        maxRatio: round(collectorMax.okPerSecond / baselineMax.okPerSecond, 3),
        pacedEventsPerSecond: round(collectorPaced.okPerSecond * events),
        p50Ms: collectorPaced.latencyMs.p50,
        p99Ms: collectorPaced.latencyMs.p99,
        baselineP50Ms: baselinePaced.latencyMs.p50,
        baselineP99Ms: baselinePaced.latencyMs.p99,
        p99Ratio: round(collectorPaced.latencyMs.p99 / baselinePaced.latencyMs.p99, 2),
        pacedErrors: collectorPaced.errors,
        cpuUsPerEventMax: collectorMax.serverCpuUsPerItem ?? NaN,
        cpuUsPerEventPaced: collectorPaced.serverCpuUsPerItem ?? NaN,
      });
    }

    const m = (f: (r: CollectorRun) => number) => median(runs.map(f));
    return {
      runs,
      median: {
        acceptedEventsPerSecond: round(m((r) => r.acceptedEventsPerSecond)),
        baselineEventsPerSecond: round(m((r) => r.baselineEventsPerSecond)),
        maxRatio: round(
          m((r) => r.maxRatio),
          3,
        ),
        pacedEventsPerSecond: round(m((r) => r.pacedEventsPerSecond)),
        pacedTargetEventsPerSecond: round(m((r) => (r.collectorPaced.targetPerSecond ?? 0) * events)),
        p50Ms: round(
          m((r) => r.p50Ms),
          2,
        ),
        p99Ms: round(
          m((r) => r.p99Ms),
          2,
        ),
        baselineP50Ms: round(
          m((r) => r.baselineP50Ms),
          2,
        ),
        baselineP99Ms: round(
          m((r) => r.baselineP99Ms),
          2,
        ),
        p50Ratio: round(
          m((r) => r.p50Ms / r.baselineP50Ms),
          2,
        ),
        p99Ratio: round(
          m((r) => r.p99Ratio),
          2,
        ),
        pacedErrors: m((r) => r.pacedErrors),
        cpuUsPerEventMax: round(
          m((r) => r.cpuUsPerEventMax),
          1,
        ),
        cpuUsPerEventPaced: round(
          m((r) => r.cpuUsPerEventPaced),
          1,
        ),
      },
      requestBytes: ctx.http!.templates.meanBytes,
      connectionsClosedLoop: opts.maxConnections,
      connectionsPaced: runs[0]?.collectorPaced.connections ?? 0,
      latencyBoundAboveMs: runs[0]?.collectorPaced.latencyBoundAboveMs ?? NaN,
    };
  } finally {
    await baseline.child.stop();
  }
}

export interface CollectorProfile {
  file: string;
  seconds: number;
  acceptedEventsPerSecond: number;
  summary: ProfileSummary;
}

/**
 * BENCH_PROFILE: a collector of its own under `node --cpu-prof`, closed loop at its maximum for
 * BENCH_PROFILE_SECONDS (after a 2 s warm-up), then stopped so the profile is written; the profile
 * is kept in bench/results/ and summarised (profile.ts).
 */
export async function profileCollector(ctx: BenchContext): Promise<CollectorProfile> {
  const { opts } = ctx;
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-prof-'));
  progress(`profile: collector under --cpu-prof, closed loop ${opts.profileSeconds} s`);
  const c = await startCollector(ctx, 'collector-profiled', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  let load: LoadResult;
  try {
    const target = batchTarget(ctx, c.url);
    await closedLoop(target, { connections: opts.maxConnections, seconds: 1, warmupSeconds: 1 });
    load = await closedLoop(target, {
      connections: opts.maxConnections,
      seconds: opts.profileSeconds,
      warmupSeconds: 0,
    });
  } finally {
    await c.child.stop();
  }
  const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (written.length === 0) throw new Error(`the profiled collector wrote no profile into ${dir}`);
  // .json: bench/results/*.json is ignored by git
  const file = repoPath('bench', 'results', 'collector.cpuprofile.json');
  mkdirSync(dirname(file), { recursive: true });
  copyFileSync(join(dir, written[0]!), file);
  rmSync(dir, { recursive: true, force: true });
  const summary = summariseProfile(file);
  progress(`profile: ${formatProfile(summary).split('\n').join('\n  ')}`);
  return {
    file,
    seconds: opts.profileSeconds,
    acceptedEventsPerSecond: round(load.okPerSecond * ctx.opts.batchEvents),
    summary,
  };
}
