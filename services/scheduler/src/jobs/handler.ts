import type { Logger } from '../../../shared/src/logger.js';
import type { Db } from '../../../shared/src/pg/gateway.js';

/** What a job's handler gets for one attempt of one run. */
export interface JobContext {
  db: Db;
  /** The instant the run started (scheduler clock): the "as of" of time-dependent work. */
  now: Date;
  /**
   * Aborted when the run's timeout_seconds pass or the scheduler stops (or loses its lock).
   * A handler checks it between slices and stops, throwing `signal.reason` or returning.
   */
  signal: AbortSignal;
  logger: Logger;
  /** The row's job_config JSON (an object; `{}` when the row has none). */
  config: Readonly<Record<string, unknown>>;
  /** 1 for the first attempt, up to 1 + max_retries. */
  attempt: number;
}

export type JobResult = { summary: string } | void;

export type JobHandler = (ctx: JobContext) => Promise<JobResult>;

/** Handlers by `scheduled_jobs.job_name`. */
export type JobRegistry = ReadonlyMap<string, JobHandler>;
