/** A `scheduled_jobs` row as the scheduler reads it (only the columns it uses). */
export interface JobRow {
  id: string;
  job_name: string;
  cron_expression: string | null;
  frequency: string | null;
  timezone: string | null;
  job_config: unknown;
  timeout_seconds: number | null;
  max_retries: number | null;
  is_enabled: boolean | null;
  last_run_at: Date | null;
  /** `last_run_duration` in milliseconds. */
  last_run_duration_ms: number | null;
  last_run_status: string | null;
  last_error_message: string | null;
  next_run_at: Date | null;
}

/** The seed's column defaults, for rows where someone stored NULL instead. */
export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_MAX_RETRIES = 3;

/** The statuses the scheduler writes to `last_run_status` (the seed's own vocabulary). */
export type RunStatus = 'success' | 'failed' | 'timeout' | 'cancelled';
