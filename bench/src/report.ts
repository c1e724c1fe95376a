/** The printed table and bench/results/latest.json. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { repoPath } from '../../services/shared/src/repo-path.js';
import type { CollectorFigures, CollectorProfile } from './collector-bench.js';
import { isMetricsTag, type SinkFigures } from './sink-bench.js';
import type { RefreshFigures, RefreshPass } from './refresh-bench.js';
import type { E2eFigures } from './e2e-bench.js';

export const GOALS = {
  collectorEventsPerSecond: 40_000,
  collectorP99Ms: 15,
  sinkRatio: 0.5,
  e2eP95Ms: 500,
  /** The end-to-end sustained rate, as a share of the raw COPY rate of the same run. */
  e2eCopyRatio: 0.5,
  collectorCpuUsPerEvent: 25,
  /** From a customer change to the membership transition it causes, with 100 active segments. */
  segmentsP95Ms: 1_000,
};

/** The figures to compare across runs, at the top of latest.json. */
export interface Headline {
  collector_max_events_per_s: number | null;
  collector_p99_ms: number | null;
  collector_cpu_us_per_event: number | null;
  e2e_sustained_events_per_s: number | null;
  e2e_freshness_p95_ms: number | null;
  copy_baseline_rows_per_s: number | null;
  e2e_to_copy_ratio: number | null;
  sink_rows_per_s: number | null;
  /**
   * CPU µs per accepted event of every process, at the sustained end-to-end rate (or, when no
   * step was sustained, at the lowest rate tried): `cpu_measured_at_events_per_s`.
   */
  cpu_us_per_event: Record<string, number> | null;
  cpu_measured_at_events_per_s: number | null;
  /** At the sustained end-to-end rate: each processor's CPU µs per record of its input topics. */
  processor_cpu_us_per_record: Record<string, number> | null;
  /** The sink with EVENT_SINK_CUSTOMER_METRICS=false, same rows, same run (sink_rows_per_s is with them). */
  sink_no_metrics_rows_per_s: number | null;
  /** 1 - (sink rows/s with metrics / without): the share of the sink's throughput the metrics take. */
  sink_metrics_cost: number | null;
  /** PostgreSQL seconds per 1,000 events of the metrics' own queries in the sink, and by query tag. */
  sink_metrics_pg_s_per_1k_events: number | null;
  sink_pg_s_per_1k_events_by_tag: Record<string, number> | null;
  /** The scheduler's refresh over refresh_customers bench customers: first pass, again at the same asOf, a day later. */
  refresh_customers: number | null;
  refresh_first_seconds: number | null;
  refresh_first_customers_per_s: number | null;
  refresh_first_changed: number | null;
  refresh_repeat_seconds: number | null;
  refresh_repeat_customers_per_s: number | null;
  refresh_repeat_changed: number | null;
  refresh_next_day_seconds: number | null;
  refresh_next_day_customers_per_s: number | null;
  refresh_next_day_changed: number | null;
  /** At the sustained end-to-end rate, 100 active segments: customer change -> membership change. */
  segments_delay_p50_ms: number | null;
  segments_delay_p95_ms: number | null;
  segments_transitions: number | null;
}

export interface Report extends Partial<Headline> {
  date: string;
  finishedAt?: string;
  durationSeconds?: number;
  git: { commit: string; dirty: boolean };
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    freeMemoryBytesAtStart: number;
    kernel: string;
    node: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd?: number[];
  };
  config: Record<string, unknown>;
  goals: typeof GOALS;
  table?: Row[];
  collector?: CollectorFigures;
  sink?: SinkFigures;
  e2e?: E2eFigures;
  refresh?: RefreshFigures;
  profile?: CollectorProfile;
  warnings: string[];
  findings: string[];
  cleanup?: Record<string, unknown>;
  error?: string;
}

export interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: 'yes' | 'NO' | '-';
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: repoPath(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

export function newReport(config: Record<string, unknown>): Report {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    git: { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']) !== '' },
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      freeMemoryBytesAtStart: freemem(),
      kernel: release(),
      node: process.version,
      loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    config,
    goals: GOALS,
    warnings: [],
    findings: [],
  };
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${x} ms` : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const x2 = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');
const met = (ok: boolean): Row['met'] => (ok ? 'yes' : 'NO');
const sec = (x: number) => (Number.isFinite(x) ? `${x.toPrecision(3)} s` : 'n/a');

export function buildTable(r: Report): Row[] {
  const rows: Row[] = [];
  const c = r.collector?.median;
  if (c) {
    rows.push({
      figure: 'Collector: max accepted events/s (closed loop)',
      value: n0(c.acceptedEventsPerSecond),
      baseline: `${n0(c.baselineEventsPerSecond)} (trivial HTTP server)`,
      ratio: pct(c.maxRatio),
      goal: `>= ${n0(GOALS.collectorEventsPerSecond)}`,
      met: met(c.acceptedEventsPerSecond >= GOALS.collectorEventsPerSecond),
    });
    rows.push({
      figure: `Collector: paced load, events/s (target)`,
      value: `${n0(c.pacedEventsPerSecond)} (${n0(c.pacedTargetEventsPerSecond)})`,
      baseline: '',
      ratio: '',
      goal: '70% of max',
      met: '-',
    });
    rows.push({
      figure: 'Collector: p50 latency at 70% of max',
      value: ms(c.p50Ms),
      baseline: ms(c.baselineP50Ms),
      ratio: x2(c.p50Ratio),
      goal: '',
      met: '-',
    });
    rows.push({
      figure: 'Collector: p99 latency at 70% of max',
      value: ms(c.p99Ms),
      baseline: ms(c.baselineP99Ms),
      ratio: x2(c.p99Ratio),
      goal: `<= ${GOALS.collectorP99Ms} ms`,
      met: met(c.p99Ms <= GOALS.collectorP99Ms),
    });
    rows.push({
      figure: 'Collector: CPU µs per event at its max (paced)',
      value: `${c.cpuUsPerEventMax} (${c.cpuUsPerEventPaced})`,
      baseline: '',
      ratio: '',
      goal: `<= ${GOALS.collectorCpuUsPerEvent}`,
      met: met(c.cpuUsPerEventMax <= GOALS.collectorCpuUsPerEvent),
    });
    rows.push({
      figure: 'Collector: errors at 70% of max (median per run)',
      value: n0(c.pacedErrors),
      baseline: '',
      ratio: '',
      goal: '0',
      met: met(c.pacedErrors === 0),
    });
  }
  const s = r.sink?.median;
  if (s) {
    rows.push({
      figure: 'Sink: rows/s committed (after first commit)',
      value: n0(s.sinkRowsPerSecond),
      baseline: `${n0(s.rawRowsPerSecond)} (raw COPY)`,
      ratio: pct(s.ratio),
      goal: `>= ${pct(GOALS.sinkRatio)} of raw`,
      met: met(s.ratio >= GOALS.sinkRatio),
    });
    rows.push({
      figure: 'Sink: rows/s including start-up',
      value: n0(s.sinkRowsPerSecondCold),
      baseline: `start-up ${s.startupSeconds} s`,
      ratio: pct(s.sinkRowsPerSecondCold / s.rawRowsPerSecond),
      goal: '',
      met: '-',
    });
    rows.push(...metricsCostRows(s));
  }
  const e = r.e2e;
  if (e) {
    const best = e.sustained;
    const copy = r.sink?.median.rawRowsPerSecond ?? NaN;
    const ratio = e.sustainedEventsPerSecond / copy;
    rows.push({
      figure: 'E2E: highest sustained events/s (stepped; no 503, lag flat, p95 <= 500 ms)',
      value: n0(e.sustainedEventsPerSecond),
      baseline: `${n0(copy)} (raw COPY rows/s)`,
      ratio: pct(ratio),
      goal: `>= ${pct(GOALS.e2eCopyRatio)} of raw COPY`,
      met: met(ratio >= GOALS.e2eCopyRatio),
    });
    rows.push({
      figure: 'E2E: lowest rate not sustained',
      value: e.firstFailedEventsPerSecond === undefined ? 'none tried' : n0(e.firstFailedEventsPerSecond),
      baseline: '',
      ratio: '',
      goal: '',
      met: '-',
    });
    if (best) {
      rows.push({
        figure: 'E2E: freshness p50 at the sustained rate',
        value: ms(best.freshnessMs.p50),
        baseline: `${ms(best.floorMs.p50)} (Kafka->PG floor)`,
        ratio: x2(best.freshnessMs.p50 / best.floorMs.p50),
        goal: '',
        met: '-',
      });
      rows.push({
        figure: 'E2E: freshness p95 at the sustained rate',
        value: ms(best.freshnessMs.p95),
        baseline: `${ms(best.floorMs.p95)} (Kafka->PG floor)`,
        ratio: x2(best.freshnessMs.p95 / best.floorMs.p95),
        goal: `<= ${GOALS.e2eP95Ms} ms`,
        met: met(best.freshnessMs.p95 <= GOALS.e2eP95Ms),
      });
      if (best.segments) {
        rows.push({
          figure: `E2E: ${e.segments} segments evaluated in full at the start (every customer)`,
          value: e.segmentsEvaluatedSeconds === undefined ? 'n/a' : `${e.segmentsEvaluatedSeconds} s`,
          baseline: '',
          ratio: '',
          goal: '',
          met: '-',
        });
        rows.push({
          figure: 'E2E: segments, customer change -> membership p50 at the sustained rate (100 segments)',
          value: ms(best.segments.p50Ms),
          baseline: `${n0(best.segments.transitions)} transitions in the window`,
          ratio: '',
          goal: '',
          met: '-',
        });
        rows.push({
          figure: 'E2E: segments, customer change -> membership p95 at the sustained rate (100 segments)',
          value: ms(best.segments.p95Ms),
          baseline: `${pct(best.segments.shareWithin1s)} within 1 s`,
          ratio: '',
          goal: `< ${GOALS.segmentsP95Ms} ms`,
          met: met(best.segments.p95Ms < GOALS.segmentsP95Ms),
        });
      }
    }
    const cpuStep = best ?? [...e.steps].sort((a, b) => a.targetEventsPerSecond - b.targetEventsPerSecond)[0];
    if (cpuStep) {
      const at = best ? 'at the sustained rate' : `at ${n0(cpuStep.targetEventsPerSecond)}/s (not sustained)`;
      for (const [name, us] of Object.entries(cpuStep.cpuUsPerEvent)) {
        const perRecord = cpuStep.cpuUsPerRecord[name];
        rows.push({
          figure: `E2E: CPU µs per event ${at}, ${name}`,
          value: Number.isFinite(us) ? us.toFixed(1) : 'n/a',
          baseline:
            perRecord !== undefined
              ? `${Number.isFinite(perRecord) ? perRecord.toFixed(1) : 'n/a'} µs/record; ${cpuStep.keptUp[name] ? 'kept up' : 'FELL BEHIND'}`
              : '',
          ratio: '',
          goal: name === 'collector' ? `<= ${GOALS.collectorCpuUsPerEvent}` : '',
          met: name === 'collector' ? met(us <= GOALS.collectorCpuUsPerEvent) : '-',
        });
      }
    }
    for (const p of e.processors.filter((x) => !x.ran))
      rows.push({
        figure: `E2E: ${p.name}`,
        value: 'skipped',
        baseline: p.note ?? '',
        ratio: '',
        goal: '',
        met: '-',
      });
  }
  if (r.refresh) rows.push(...refreshRows(r.refresh));
  return rows;
}

/** The sink with and without the customers' metrics, and their queries' PostgreSQL time. */
function metricsCostRows(s: SinkFigures['median']): Row[] {
  const tags = s.pgSecondsPer1kEventsByTag;
  const copy = tags['sink.copy'] ?? NaN;
  const rows: Row[] = [
    {
      figure: 'Sink: rows/s with customer metrics (as deployed)',
      value: n0(s.sinkRowsPerSecond),
      baseline: `${n0(s.sinkNoMetricsRowsPerSecond)} (without: EVENT_SINK_CUSTOMER_METRICS=false)`,
      ratio: pct(s.metricsRatio),
      goal: '',
      met: '-',
    },
    {
      figure: 'Sink: customer metrics cost, share of sink rows/s',
      value: pct(s.metricsCost),
      baseline: '',
      ratio: '',
      goal: '',
      met: '-',
    },
    {
      figure: 'Sink: PG s per 1,000 events, customer metrics queries',
      value: sec(s.metricsPgSecondsPer1kEvents),
      baseline: `${sec(copy)} (sink.copy)`,
      ratio: pct(s.metricsPgSecondsPer1kEvents / copy),
      goal: '',
      met: '-',
    },
  ];
  const shown = Object.entries(tags).filter(([tag]) => isMetricsTag(tag) || tag === 'outbox.add');
  for (const [tag, seconds] of shown.sort((a, b) => b[1] - a[1])) {
    rows.push({
      figure: `Sink: PG s per 1,000 events, ${tag}${tag === 'outbox.add' ? ' (change records)' : ''}`,
      value: sec(seconds),
      baseline: `${sec(copy)} (sink.copy)`,
      ratio: pct(seconds / copy),
      goal: '',
      met: '-',
    });
  }
  return rows;
}

/** The scheduler's refresh: its three passes over the phase's customers. */
function refreshRows(f: RefreshFigures): Row[] {
  const row = (what: string, p: RefreshPass, goal = ''): Row => ({
    figure: `Refresh of ${n0(f.customers)} customers, ${what}: customers/s`,
    value: n0(p.customersPerSecond),
    baseline: `${p.seconds} s, ${n0(p.changed)} changed`,
    ratio: '',
    goal,
    met: goal ? met(p.changed === 0) : '-',
  });
  return [
    row('first pass', f.first),
    row('again at the same asOf', f.repeat, '0 changed'),
    row('a day later', f.nextDay),
  ];
}

export function printTable(rows: Row[]): string {
  const head: Row = {
    figure: 'Figure (median of runs)',
    value: 'Value',
    baseline: 'Baseline (same run)',
    ratio: 'Ratio',
    goal: 'Goal',
    met: '-',
  };
  const all = [head, ...rows];
  const keys = ['figure', 'value', 'baseline', 'ratio', 'goal', 'met'] as const;
  const width = keys.map((k) =>
    Math.max(...all.map((r) => (k === 'met' && r === head ? 3 : String(r[k]).length))),
  );
  const line = (r: Row) =>
    '| ' +
    keys.map((k, i) => (k === 'met' && r === head ? 'Met' : String(r[k])).padEnd(width[i]!)).join(' | ') +
    ' |';
  const sep = '|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [line(head), sep, ...rows.map(line)].join('\n');
}

export function writeReport(r: Report): string {
  const file = repoPath('bench', 'results', 'latest.json');
  mkdirSync(dirname(file), { recursive: true });
  // the headline figures first
  const out = { ...headline(r), ...r };
  writeFileSync(
    file,
    JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
  return file;
}

const num = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

export function headline(r: Report): Headline {
  const best = r.e2e?.sustained;
  const copy = r.sink?.median.rawRowsPerSecond;
  const sustained = r.e2e?.sustainedEventsPerSecond;
  const cpuStep =
    best ?? [...(r.e2e?.steps ?? [])].sort((a, b) => a.targetEventsPerSecond - b.targetEventsPerSecond)[0];
  return {
    collector_max_events_per_s: num(r.collector?.median.acceptedEventsPerSecond),
    collector_p99_ms: num(r.collector?.median.p99Ms),
    collector_cpu_us_per_event: num(r.collector?.median.cpuUsPerEventMax),
    e2e_sustained_events_per_s: num(sustained),
    e2e_freshness_p95_ms: num(best?.freshnessMs.p95),
    segments_delay_p50_ms: num(best?.segments?.p50Ms),
    segments_delay_p95_ms: num(best?.segments?.p95Ms),
    segments_transitions: num(best?.segments?.transitions),
    copy_baseline_rows_per_s: num(copy),
    e2e_to_copy_ratio: num(
      sustained !== undefined && copy ? Math.round((sustained / copy) * 1000) / 1000 : undefined,
    ),
    sink_rows_per_s: num(r.sink?.median.sinkRowsPerSecond),
    cpu_us_per_event: cpuStep ? cpuStep.cpuUsPerEvent : null,
    cpu_measured_at_events_per_s: num(cpuStep?.targetEventsPerSecond),
    processor_cpu_us_per_record: cpuStep ? cpuStep.cpuUsPerRecord : null,
    sink_no_metrics_rows_per_s: num(r.sink?.median.sinkNoMetricsRowsPerSecond),
    sink_metrics_cost: num(r.sink?.median.metricsCost),
    sink_metrics_pg_s_per_1k_events: num(r.sink?.median.metricsPgSecondsPer1kEvents),
    sink_pg_s_per_1k_events_by_tag: r.sink ? r.sink.median.pgSecondsPer1kEventsByTag : null,
    refresh_customers: num(r.refresh?.customers),
    ...refreshHeadline('first', r.refresh?.first),
    ...refreshHeadline('repeat', r.refresh?.repeat),
    ...refreshHeadline('next_day', r.refresh?.nextDay),
  };
}

function refreshHeadline<K extends 'first' | 'repeat' | 'next_day'>(name: K, p: RefreshPass | undefined) {
  return {
    [`refresh_${name}_seconds`]: num(p?.seconds),
    [`refresh_${name}_customers_per_s`]: num(p?.customersPerSecond),
    [`refresh_${name}_changed`]: num(p?.changed),
  } as Record<`refresh_${K}_${'seconds' | 'customers_per_s' | 'changed'}`, number | null>;
}
