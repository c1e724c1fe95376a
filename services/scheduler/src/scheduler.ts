/**
 * The scheduler core: `tick()` does what is due at `clock.now()` and returns. It has no timers of
 * its own (main.ts polls it), so tests drive time by moving an injected clock.
 *
 * A tick: take or confirm the lock (a standby stops there); plan every row (planJob); write the
 * next_run_at changes and row problems; run the most overdue due job; plan again; until nothing
 * is due. Jobs run one at a time, so one slow job delays the others rather than overlapping them.
 */
import type { Logger } from '../../shared/src/logger.js';
import type { Db, Queryable } from '../../shared/src/pg/gateway.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_MAX_RETRIES, type JobRow, type RunStatus } from './job-row.js';
import { JobStore } from './job-store.js';
import type { JobRegistry } from './jobs/handler.js';
import type { SchedulerMetrics } from './metrics.js';
import { planJob, timeoutMsOf } from './plan.js';
import { defaultRetryDelayMs, runJob } from './run-job.js';
import type { Schedule } from './schedule.js';

/** What the scheduler needs of its lock (LeaderSession in production). */
export interface Leadership extends Queryable {
  readonly isLeader: boolean;
  readonly isConnected: boolean;
  acquire(): Promise<boolean>;
  release(): Promise<void>;
  subscribe(listener: (leader: boolean) => void): () => void;
}

export interface SchedulerOptions {
  leadership: Leadership;
  /** The pool handed to job handlers. */
  db: Db;
  jobs: JobRegistry;
  logger: Logger;
  metrics: SchedulerMetrics;
  clock?: Clock;
  /** Only rows whose job_name starts with this; default every row. */
  jobNamePrefix?: string;
  retryDelayMs?: (retry: number) => number;
  /** After a timeout or stop aborts a handler, how long it may take to return. */
  abandonAfterMs?: number;
}

export interface RunReport {
  job: string;
  status: RunStatus;
  attempts: number;
  durationMs: number;
  error?: string;
}

export interface TickReport {
  leader: boolean;
  ran: RunReport[];
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly store: JobStore;
  private readonly stopping = new AbortController();
  private inFlight: Promise<TickReport> | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.store = new JobStore(opts.leadership, opts.jobNamePrefix ?? '');
    opts.metrics.leader.set(0);
    this.unsubscribe = opts.leadership.subscribe((leader) => {
      opts.metrics.leader.set(leader ? 1 : 0);
      if (leader) opts.logger.info('holding the scheduler lock: running jobs');
      else if (!this.stopping.signal.aborted) opts.logger.warn('lost the scheduler lock: standing by');
    });
  }

  get isLeader(): boolean {
    return this.opts.leadership.isLeader;
  }

  get isConnected(): boolean {
    return this.opts.leadership.isConnected;
  }

  /** Runs what is due now; a second call while one is in progress shares it. */
  tick(): Promise<TickReport> {
    if (this.stopping.signal.aborted) return Promise.resolve({ leader: false, ran: [] });
    this.inFlight ??= this.doTick().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Aborts the job in progress (recorded 'cancelled', left due for the next runner), waits for
   * the tick to end, and releases the lock so a standby takes over at its next poll.
   */
  async stop(): Promise<void> {
    this.stopping.abort('the scheduler is stopping');
    try {
      await this.inFlight;
    } catch {
      // already reported by whoever called tick()
    }
    await this.opts.leadership.release();
    this.unsubscribe();
    this.opts.metrics.leader.set(0);
  }

  private async doTick(): Promise<TickReport> {
    const ran: RunReport[] = [];
    const runThisTick = new Set<string>();
    for (let pass = 0; ; pass++) {
      if (this.stopping.signal.aborted) break;
      // Lost during a run: leave the lock to the standby for now; the next tick tries again.
      if (pass > 0 && !this.opts.leadership.isLeader) return { leader: false, ran };
      if (!(await this.opts.leadership.acquire())) return { leader: false, ran };
      const now = this.clock.now();
      let due: { row: JobRow; schedule: Schedule } | undefined;
      for (const row of await this.store.list()) {
        const plan = planJob(row, now, this.opts.jobs.has(row.job_name));
        switch (plan.kind) {
          case 'run':
            // Once per tick: a run's record moves next_run_at past now, unless a clock stands still.
            if (!due && !runThisTick.has(row.id)) due = { row, schedule: plan.schedule };
            break;
          case 'reschedule':
            await this.store.setNextRun(row.id, plan.nextRunAt);
            this.opts.logger.debug(
              { job: row.job_name, nextRunAt: plan.nextRunAt, why: plan.why },
              'next run set',
            );
            break;
          case 'problem':
            // Logged when written, and written only when the row does not say so yet: once.
            await this.store.recordProblem(row.id, plan.problem, plan.message);
            this.opts.logger.warn({ job: row.job_name, problem: plan.problem }, plan.message);
            break;
          case 'idle':
            break;
        }
      }
      if (!due) break;
      runThisTick.add(due.row.id);
      ran.push(await this.runOne(due.row, due.schedule));
    }
    return { leader: this.opts.leadership.isLeader, ran };
  }

  private async runOne(row: JobRow, schedule: Schedule): Promise<RunReport> {
    const { logger, metrics, db } = this.opts;
    const job = row.job_name;
    const handler = this.opts.jobs.get(job);
    if (!handler) throw new Error(`no handler for ${job}`); // planJob only runs jobs that have one
    const startedAt = this.clock.now();
    const maxRetries = Math.max(0, row.max_retries ?? DEFAULT_MAX_RETRIES);
    const jobLogger = logger.child({ job });

    const stop = new AbortController();
    const onStopping = () => stop.abort('the scheduler is stopping');
    this.stopping.signal.addEventListener('abort', onStopping, { once: true });
    const unsubscribe = this.opts.leadership.subscribe((leader) => {
      if (!leader) stop.abort('the scheduler lost its lock');
    });
    jobLogger.info(
      { scheduledFor: row.next_run_at, maxRetries, timeoutSeconds: timeoutMsOf(row) / 1000 },
      'job started',
    );
    const outcome = await runJob({
      handler,
      context: (attempt, signal) => ({
        db,
        now: startedAt,
        signal,
        logger: jobLogger,
        config: configOf(row.job_config),
        attempt,
      }),
      timeoutMs: timeoutMsOf(row),
      maxRetries,
      clock: this.clock,
      retryDelayMs: this.opts.retryDelayMs ?? defaultRetryDelayMs,
      abandonAfterMs: this.opts.abandonAfterMs ?? 10_000,
      stop: stop.signal,
      onAttemptFailed: (attempt, message) =>
        jobLogger.warn({ attempt, of: maxRetries + 1, err: { message } }, 'job attempt failed'),
    }).finally(() => {
      this.stopping.signal.removeEventListener('abort', onStopping);
      unsubscribe();
    });

    const report: RunReport = {
      job,
      status: outcome.status,
      attempts: outcome.attempts,
      durationMs: outcome.durationMs,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    };
    metrics.runs.inc({ job, status: outcome.status });
    if (outcome.status === 'cancelled') {
      // Without the lock there is nothing to record: the next leader runs the job again.
      if (this.opts.leadership.isLeader) {
        await this.store.recordCancelled(row.id, startedAt, outcome.durationMs, outcome.error ?? 'cancelled');
      }
      jobLogger.info({ attempts: outcome.attempts }, 'job cancelled; it runs again on the next runner');
      return report;
    }
    metrics.duration.observe({ job }, outcome.durationMs / 1000);
    const nextRunAt = schedule.nextAfter(this.clock.now());
    await this.store.recordRun(row.id, {
      startedAt,
      status: outcome.status,
      durationMs: outcome.durationMs,
      error: outcome.status === 'success' ? null : (outcome.error ?? outcome.status),
      nextRunAt,
    });
    const fields = {
      status: outcome.status,
      attempts: outcome.attempts,
      durationMs: Math.round(outcome.durationMs),
      nextRunAt,
    };
    if (outcome.status === 'success')
      jobLogger.info({ ...fields, summary: outcome.summary }, 'job succeeded');
    else jobLogger.warn({ ...fields, err: { message: outcome.error } }, `job ${outcome.status}`);
    return report;
  }
}

function configOf(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
