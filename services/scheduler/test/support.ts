/**
 * For the scheduler's integration tests: schedulers on a private PostgreSQL (the shared one may
 * have a real scheduler running its rows), each test with its own job_name prefix and lock name.
 */
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Logger } from '../../shared/src/logger.js';
import { createDb, type Db } from '../../shared/src/pg/gateway.js';
import { logger as silent, randomName } from '../../shared/test/support.js';
import type { JobRegistry } from '../src/jobs/handler.js';
import { LeaderSession } from '../src/leader-session.js';
import { createSchedulerMetrics } from '../src/metrics.js';
import { Scheduler, type SchedulerOptions } from '../src/scheduler.js';
import { ManualClock } from './manual-clock.js';

export interface TestScheduler {
  scheduler: Scheduler;
  session: LeaderSession;
  registry: Registry;
  applicationName: string;
  leaderGauge(): Promise<number>;
  close(): Promise<void>;
}

export function startScheduler(opts: {
  url: string;
  db: Db;
  clock: ManualClock;
  jobs: JobRegistry;
  prefix: string;
  lockName: string;
  logger?: Logger;
  extra?: Partial<SchedulerOptions>;
}): TestScheduler {
  const registry = new Registry();
  const applicationName = randomName('sched-test');
  const logger = opts.logger ?? silent;
  const session = new LeaderSession({
    connectionString: opts.url,
    lockName: opts.lockName,
    applicationName,
    logger,
  });
  const scheduler = new Scheduler({
    leadership: session,
    db: opts.db,
    jobs: opts.jobs,
    logger,
    metrics: createSchedulerMetrics(registry),
    clock: opts.clock,
    jobNamePrefix: opts.prefix,
    retryDelayMs: () => 0,
    ...opts.extra,
  });
  return {
    scheduler,
    session,
    registry,
    applicationName,
    async leaderGauge() {
      const m = await registry.getSingleMetric('scheduler_leader')!.get();
      return m.values[0]?.value ?? NaN;
    },
    close: () => scheduler.stop(),
  };
}

export function testDb(url: string): Db {
  return createDb({ connectionString: url, service: 'scheduler-test', registry: new Registry(), max: 4 });
}

export interface JobFields {
  job_name: string;
  cron_expression?: string | null;
  timezone?: string | null;
  is_enabled?: boolean;
  next_run_at?: Date | null;
  timeout_seconds?: number;
  max_retries?: number;
  job_config?: unknown;
}

export async function insertJob(admin: pg.Pool, f: JobFields): Promise<void> {
  await admin.query(
    `INSERT INTO scheduled_jobs (job_name, job_type, cron_expression, timezone, is_enabled, next_run_at,
                                 timeout_seconds, max_retries, job_config)
     VALUES ($1, 'test', $2, $3, $4, $5, $6, $7, $8)`,
    [
      f.job_name,
      f.cron_expression === undefined ? '0 * * * *' : f.cron_expression,
      f.timezone === undefined ? 'UTC' : f.timezone,
      f.is_enabled ?? true,
      f.next_run_at ?? null,
      f.timeout_seconds ?? 3600,
      f.max_retries ?? 0,
      JSON.stringify(f.job_config ?? {}),
    ],
  );
}

export interface JobState {
  last_run_at: Date | null;
  last_run_status: string | null;
  last_run_ms: number | null;
  last_error_message: string | null;
  next_run_at: Date | null;
  total_runs: number;
  successful_runs: number;
  failed_runs: number;
  average_ms: number | null;
  updated_at: Date;
}

export async function jobState(admin: pg.Pool, name: string): Promise<JobState> {
  const { rows } = await admin.query<JobState>(
    `SELECT last_run_at, last_run_status, (extract(epoch FROM last_run_duration) * 1000)::float8 AS last_run_ms,
            last_error_message, next_run_at, total_runs, successful_runs, failed_runs,
            (extract(epoch FROM average_duration) * 1000)::float8 AS average_ms, updated_at
       FROM scheduled_jobs WHERE job_name = $1`,
    [name],
  );
  if (!rows[0]) throw new Error(`no job ${name}`);
  return rows[0];
}

/** A logger that keeps its JSON lines, to count what was logged. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export const iso = (d: Date | null) => d?.toISOString() ?? null;
export { ManualClock, randomName };
