/** The scheduler's reads and writes of scheduled_jobs (through the leader's session). */
import type { Queryable } from '../../shared/src/pg/gateway.js';
import type { JobRow, RunStatus } from './job-row.js';

export interface RunRecord {
  startedAt: Date;
  status: Exclude<RunStatus, 'cancelled'>;
  durationMs: number;
  /** NULL after a success. */
  error: string | null;
  nextRunAt: Date | null;
}

export class JobStore {
  /** `namePrefix`: only rows whose job_name starts with it ('' is every row). */
  constructor(
    private readonly q: Queryable,
    private readonly namePrefix = '',
  ) {}

  /** Most overdue first, so the job waiting longest runs first. */
  async list(): Promise<JobRow[]> {
    const { rows } = await this.q.query<JobRow & Record<string, unknown>>(
      'list-jobs',
      `SELECT id, job_name, cron_expression, frequency, timezone, job_config, timeout_seconds, max_retries,
              is_enabled, last_run_at, (extract(epoch FROM last_run_duration) * 1000)::float8 AS last_run_duration_ms,
              last_run_status, last_error_message, next_run_at
         FROM scheduled_jobs
        WHERE left(job_name, length($1)) = $1
        ORDER BY next_run_at NULLS LAST, job_name`,
      [this.namePrefix],
    );
    return rows;
  }

  async setNextRun(id: string, nextRunAt: Date | null): Promise<void> {
    await this.q.query('set-next-run', 'UPDATE scheduled_jobs SET next_run_at = $2 WHERE id = $1', [
      id,
      nextRunAt,
    ]);
  }

  /**
   * A row the scheduler will not run: a bad schedule is a failure of the row ('failed'); a
   * job_name without a handler keeps its last status. Neither counts as a run.
   */
  async recordProblem(id: string, problem: 'invalid' | 'unsupported', message: string): Promise<void> {
    await this.q.query(
      'record-problem',
      `UPDATE scheduled_jobs
          SET next_run_at = NULL, last_error_message = $2,
              last_run_status = CASE WHEN $3 THEN 'failed' ELSE last_run_status END
        WHERE id = $1`,
      [id, message, problem === 'invalid'],
    );
  }

  /**
   * One run's outcome and the statistics, in one statement (SET sees the row as it was before,
   * so the running mean uses the old total_runs). A timeout counts among failed_runs.
   */
  async recordRun(id: string, run: RunRecord): Promise<void> {
    await this.q.query(
      'record-run',
      `UPDATE scheduled_jobs
          SET last_run_at = $2,
              last_run_status = $3::text,
              last_run_duration = make_interval(secs => $4::float8 / 1000),
              last_error_message = $5,
              next_run_at = $6,
              total_runs = coalesce(total_runs, 0) + 1,
              successful_runs = coalesce(successful_runs, 0) + CASE WHEN $3::text = 'success' THEN 1 ELSE 0 END,
              failed_runs = coalesce(failed_runs, 0) + CASE WHEN $3::text = 'success' THEN 0 ELSE 1 END,
              average_duration = CASE
                WHEN average_duration IS NULL OR coalesce(total_runs, 0) = 0
                  THEN make_interval(secs => $4::float8 / 1000)
                ELSE (average_duration * total_runs + make_interval(secs => $4::float8 / 1000)) / (total_runs + 1)
              END
        WHERE id = $1`,
      [id, run.startedAt, run.status, run.durationMs, run.error, run.nextRunAt],
    );
  }

  /**
   * A run the scheduler's own stop interrupted: shown as 'cancelled', not counted, and
   * next_run_at left as it was, so the next runner (a standby, or this one restarted) runs it again.
   */
  async recordCancelled(id: string, startedAt: Date, durationMs: number, message: string): Promise<void> {
    await this.q.query(
      'record-cancelled',
      `UPDATE scheduled_jobs
          SET last_run_at = $2, last_run_status = 'cancelled',
              last_run_duration = make_interval(secs => $3::float8 / 1000), last_error_message = $4,
              -- a run started for a NULL next_run_at (a missed occurrence) must stay due too
              next_run_at = coalesce(next_run_at, $2)
        WHERE id = $1`,
      [id, startedAt, durationMs, message],
    );
  }
}
