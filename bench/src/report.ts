/** The printed table and bench/results/latest.json. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { repoPath } from '../../services/shared/src/repo-path.js';
import type { CollectorFigures } from './collector-bench.js';
import type { SinkFigures } from './sink-bench.js';
import type { E2eFigures } from './e2e-bench.js';

export const GOALS = {
  collectorEventsPerSecond: 40_000,
  collectorP99Ms: 15,
  sinkRatio: 0.5,
  e2eP95Ms: 500,
  e2eEventsPerSecond: 40_000,
};

export interface Report {
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
  }
  const e = r.e2e?.median;
  if (e && r.e2e) {
    rows.push({
      figure: `E2E: accepted events/s (target ${n0(r.e2e.targetEventsPerSecond)})`,
      value: n0(e.acceptedEventsPerSecond),
      baseline: '',
      ratio: '',
      goal: `${n0(GOALS.e2eEventsPerSecond)}`,
      met: met(e.acceptedEventsPerSecond >= GOALS.e2eEventsPerSecond * 0.98),
    });
    rows.push({
      figure: 'E2E: freshness p50 (accept -> committed row)',
      value: ms(e.p50Ms),
      baseline: `${ms(e.floorP50Ms)} (Kafka->PG floor)`,
      ratio: x2(e.p50Ratio),
      goal: '',
      met: '-',
    });
    rows.push({
      figure: 'E2E: freshness p95 (accept -> committed row)',
      value: ms(e.p95Ms),
      baseline: `${ms(e.floorP95Ms)} (Kafka->PG floor)`,
      ratio: x2(e.p95Ratio),
      goal: `<= ${GOALS.e2eP95Ms} ms at ${n0(GOALS.e2eEventsPerSecond)}/s`,
      met: met(e.p95Ms <= GOALS.e2eP95Ms && !r.e2e.rateCapped),
    });
    rows.push({
      figure: 'E2E: sink histogram, share committed <= 500 ms',
      value: pct(e.sinkShareWithin500ms),
      baseline: '',
      ratio: '',
      goal: '>= 95.0%',
      met: met(e.sinkShareWithin500ms >= 0.95),
    });
  }
  return rows;
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
  writeFileSync(
    file,
    JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
  return file;
}
