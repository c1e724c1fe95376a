/**
 * HTTP load with autocannon's programmatic API, in two shapes:
 *
 * - closed loop (`closedLoop`): N connections each send the next request as soon as the previous
 *   answer arrives; the server's speed sets the rate. Used to find the maximum.
 * - paced (`paced`): a fixed overall rate (autocannon's `overallRate`), as close to open loop as
 *   autocannon gets. autocannon gives each connection a budget of whole requests per second,
 *   refilled by a 1-second timer that starts when the connection is created; a connection whose
 *   budget is spent waits for the next tick. One instance therefore fires its whole second's worth
 *   at the top of every second. To spread the load over the second we start `instances` (50)
 *   autocannon instances, each with a share of the rate, at evenly staggered offsets within the
 *   first second, and give every connection a budget of one request per second (as many
 *   connections as requests per second): every 20 ms a share of the second's requests starts,
 *   each on its own connection, none waiting for another's answer. That is open loop as long as
 *   an answer takes less than 1 s (`latencyBoundAboveMs`); a connection whose answer takes longer
 *   misses its next slot, the rate drops, and the result shows it (okPerSecond vs
 *   targetPerSecond).
 *
 * Latency is recorded per response from autocannon's `response` event (time from writing the
 * request to the end of the response), for responses that complete inside the measured window
 * (after a warm-up), so the percentiles here are exact over those samples.
 */
import autocannon, { type Instance, type Options, type RequestParams, type Result } from 'autocannon';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sleep } from '../../services/shared/src/retry.js';
import { percentile, round, sortedCopy } from './stats.js';

export interface Target {
  /** Base URL, http://127.0.0.1:<port>. */
  url: string;
  path: string;
  headers: Record<string, string>;
  /** The body of the next request (called once per request sent). */
  nextBody: () => string;
  /** Instead of path + nextBody: the path and body of the next request. */
  nextRequest?: () => { path: string; body: string };
}

export interface ProduceStats {
  requests: number;
  meanMs: number;
  meanRecords: number;
  serverP50Ms: number;
  serverP99Ms: number;
}

export interface LoadResult {
  mode: 'closed' | 'paced';
  /** Length of the measured window, seconds. */
  windowSeconds: number;
  /** Requests that got a 200 inside the window, per second. */
  okPerSecond: number;
  /** Requests sent during the whole run (window and warm-up). */
  sent: number;
  /** Responses in the window by status code. */
  statuses: Record<string, number>;
  /** Responses in the window that were not 200, plus connection errors and timeouts of the whole run. */
  errors: number;
  connErrors: number;
  timeouts: number;
  /** Latency of the 200 responses in the window, milliseconds. */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number; samples: number };
  connections: number;
  /** Paced only: the rate asked for, requests/s. */
  targetPerSecond?: number;
  /** Paced only: a response slower than this would have made a connection miss its budget. */
  latencyBoundAboveMs?: number;
  /**
   * The load generator itself (this process): its CPU, % of one core, and its event-loop delay
   * p99 in ms. A busy generator measures late; both stay low when the figures are the server's.
   */
  client: { cpuPercent: number; loopDelayP99Ms: number };
  /** CPU the server process used during the run, % of one core (Node's main thread is one core). */
  serverCpuPercent?: number;
  /** The server's CPU per accepted item (event), µs. */
  serverCpuUsPerItem?: number;
  /** Collector only, from its /metrics: produce requests to Kafka and its own request timing. */
  produce?: ProduceStats;
}

interface Sample {
  at: number;
  status: number;
  ms: number;
}

function collect(instance: Instance, samples: Sample[]): void {
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    samples.push({ at: Date.now(), status, ms });
  });
}

function clientMonitor() {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  return (): LoadResult['client'] => {
    delay.disable();
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / (Date.now() - t0)) * 100, 1),
      loopDelayP99Ms: round(delay.percentile(99) / 1e6, 1),
    };
  };
}

function summarize(
  mode: LoadResult['mode'],
  samples: Sample[],
  results: Result[],
  from: number,
  to: number,
  sent: number,
  connections: number,
  client: LoadResult['client'],
): LoadResult {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const statuses: Record<string, number> = {};
  for (const s of inWindow) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const ok = inWindow.filter((s) => s.status === 200);
  const lat = sortedCopy(ok.map((s) => s.ms));
  const windowSeconds = (to - from) / 1000;
  const connErrors = results.reduce((n, r) => n + r.errors - r.timeouts, 0);
  const timeouts = results.reduce((n, r) => n + r.timeouts, 0);
  return {
    mode,
    windowSeconds: round(windowSeconds, 2),
    okPerSecond: round(ok.length / windowSeconds, 1),
    sent,
    statuses,
    errors: inWindow.length - ok.length + connErrors + timeouts,
    connErrors,
    timeouts,
    latencyMs: {
      p50: round(percentile(lat, 50), 2),
      p90: round(percentile(lat, 90), 2),
      p99: round(percentile(lat, 99), 2),
      max: round(lat.length ? lat[lat.length - 1]! : NaN, 2),
      mean: round(lat.reduce((a, b) => a + b, 0) / (lat.length || 1), 2),
      samples: lat.length,
    },
    connections,
    client,
  };
}

function options(
  target: Target,
  extra: { connections: number; duration: number; overallRate?: number },
): Options {
  return {
    url: target.url,
    connections: extra.connections,
    duration: extra.duration,
    pipelining: 1,
    timeout: 10,
    ...(extra.overallRate ? { overallRate: extra.overallRate, ignoreCoordinatedOmission: true } : {}),
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: target.headers,
        setupRequest: (req: RequestParams) =>
          target.nextRequest ? { ...req, ...target.nextRequest() } : { ...req, body: target.nextBody() },
      },
    ],
  };
}

/** Closed loop for `seconds`; the first `warmupSeconds` are not counted. */
export async function closedLoop(
  target: Target,
  opts: { connections: number; seconds: number; warmupSeconds: number },
): Promise<LoadResult> {
  const samples: Sample[] = [];
  let sent = 0;
  const counting: Target = { ...target, nextBody: () => (sent++, target.nextBody()) };
  const monitor = clientMonitor();
  const start = Date.now();
  const instance = autocannon(
    options(counting, { connections: opts.connections, duration: opts.seconds + opts.warmupSeconds }),
  );
  collect(instance, samples);
  const result = await instance;
  const from = start + opts.warmupSeconds * 1000;
  const to = start + (opts.seconds + opts.warmupSeconds) * 1000;
  return summarize('closed', samples, [result], from, to, sent, opts.connections, monitor());
}

/**
 * `perSecond` requests/s for `seconds` (plus a 2 s ramp that is not counted), spread over
 * `instances` staggered autocannon instances, one connection per request per second.
 */
export async function paced(
  target: Target,
  opts: {
    perSecond: number;
    seconds: number;
    instances?: number;
    onStart?: () => void;
  },
): Promise<LoadResult> {
  const rate = Math.max(1, Math.round(opts.perSecond));
  const k = Math.max(1, Math.min(opts.instances ?? 50, rate));
  const rampSeconds = 2;
  const duration = opts.seconds + rampSeconds;
  const samples: Sample[] = [];
  let sent = 0;
  const counting: Target = {
    ...target,
    nextBody: () => (sent++, target.nextBody()),
    ...(target.nextRequest ? { nextRequest: () => (sent++, target.nextRequest!()) } : {}),
  };
  const monitor = clientMonitor();
  const start = Date.now();
  opts.onStart?.();
  const results: Promise<Result>[] = [];
  let connections = 0;
  let maxBudget = 1;
  for (let i = 0; i < k; i++) {
    const share = Math.floor(rate / k) + (i < rate % k ? 1 : 0);
    const conns = share; // one request per second each
    connections += conns;
    maxBudget = Math.max(maxBudget, Math.ceil(share / conns));
    const delay = start + (i * 1000) / k - Date.now();
    if (delay > 0) await sleep(delay);
    // every instance ends at the same moment, so the window has them all running
    const instance = autocannon(
      options(counting, {
        connections: conns,
        duration: duration - (Date.now() - start) / 1000,
        overallRate: share,
      }),
    );
    collect(instance, samples);
    results.push(Promise.resolve(instance));
  }
  const all = await Promise.all(results);
  const from = start + rampSeconds * 1000;
  const to = start + duration * 1000;
  return {
    ...summarize('paced', samples, all, from, to, sent, connections, monitor()),
    targetPerSecond: rate,
    latencyBoundAboveMs: round(1000 / maxBudget, 0),
  };
}

/** What went wrong in a load run, in words (for findings). */
export function describeErrors(r: LoadResult): string {
  const non200 = Object.entries(r.statuses).filter(([s]) => s !== '200');
  const parts: string[] = [];
  if (r.timeouts > 0) parts.push(`${r.timeouts} requests got no answer within 10 s (client timeout)`);
  if (r.connErrors > 0) parts.push(`${r.connErrors} connection errors`);
  if (non200.length > 0) parts.push(`responses ${non200.map(([s, n]) => `${n} x ${s}`).join(', ')}`);
  return parts.join('; ') || 'none';
}
