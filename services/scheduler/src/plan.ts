/**
 * What to do with one `scheduled_jobs` row at `now`: a pure decision, so every rule about due
 * times, catch-up, disabled jobs and bad rows is tested without a database.
 *
 * - A due job (next_run_at <= now) runs once, however many occurrences passed meanwhile
 *   (catch-up after downtime); the caller then sets next_run_at to the first occurrence after
 *   the run ends.
 * - next_run_at NULL: a job that never ran gets the next occurrence after now and does not run
 *   at once (a fresh install does not fire every job on its first start). A job that ran before
 *   (an operator cleared next_run_at, or a fixed bad row) runs now if an occurrence passed since
 *   its last run ended.
 * - A job not due whose next_run_at is not the next occurrence after now had its schedule changed
 *   (expression or timezone): next_run_at is moved to the next occurrence of the new schedule.
 * - A disabled job never runs; its next_run_at is kept current, so re-enabling it does not fire
 *   an occurrence that passed while it was disabled.
 * - A bad schedule, or a job_name without a handler, is not run: next_run_at NULL and a
 *   last_error_message saying why, written once (the plan is `idle` once the row says so).
 */
import { DEFAULT_TIMEOUT_SECONDS, type JobRow } from './job-row.js';
import { compileSchedule, type Schedule } from './schedule.js';

export type Plan =
  | { kind: 'run'; schedule: Schedule }
  | { kind: 'reschedule'; nextRunAt: Date | null; why: 'first' | 'schedule-changed' | 'disabled' }
  | { kind: 'problem'; problem: 'invalid' | 'unsupported'; message: string }
  | { kind: 'idle' };

export function planJob(row: JobRow, now: Date, hasHandler: boolean): Plan {
  const compiled = compileSchedule(row.cron_expression, row.timezone, row.frequency);
  const schedule = compiled.ok ? compiled.schedule : undefined;
  const next = schedule?.nextAfter(now) ?? null;

  if (row.is_enabled === false) {
    return sameInstant(row.next_run_at, next)
      ? { kind: 'idle' }
      : { kind: 'reschedule', nextRunAt: next, why: 'disabled' };
  }

  const invalid = !compiled.ok
    ? compiled.problem
    : next === null
      ? `cron_expression "${compiled.schedule.expression}" has no future occurrence`
      : row.timeout_seconds !== null && row.timeout_seconds <= 0
        ? `timeout_seconds must be positive (is ${row.timeout_seconds})`
        : undefined;
  if (invalid !== undefined) {
    const message = `not run: ${invalid}`;
    const recorded =
      row.last_run_status === 'failed' && row.last_error_message === message && row.next_run_at === null;
    return recorded ? { kind: 'idle' } : { kind: 'problem', problem: 'invalid', message };
  }
  if (!hasHandler) {
    const message = `not run: unsupported job_name "${row.job_name}" (this scheduler has no handler for it)`;
    const recorded = row.last_error_message === message && row.next_run_at === null;
    return recorded ? { kind: 'idle' } : { kind: 'problem', problem: 'unsupported', message };
  }
  // Both are defined from here on: the schedule compiled and has a next occurrence.
  const ok = schedule as Schedule;
  const upcoming = next as Date;

  if (row.next_run_at === null) {
    if (row.last_run_at !== null) {
      const lastEnded = new Date(row.last_run_at.getTime() + (row.last_run_duration_ms ?? 0));
      const missed = ok.nextAfter(lastEnded);
      if (missed !== null && missed.getTime() <= now.getTime()) return { kind: 'run', schedule: ok };
    }
    return { kind: 'reschedule', nextRunAt: upcoming, why: 'first' };
  }
  if (row.next_run_at.getTime() <= now.getTime()) return { kind: 'run', schedule: ok };
  if (!sameInstant(row.next_run_at, upcoming)) {
    return { kind: 'reschedule', nextRunAt: upcoming, why: 'schedule-changed' };
  }
  return { kind: 'idle' };
}

/** The timeout of a run, from the row (NULL means the seed's default). */
export function timeoutMsOf(row: JobRow): number {
  return (row.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
}

function sameInstant(a: Date | null, b: Date | null): boolean {
  return a === null || b === null ? a === b : a.getTime() === b.getTime();
}
