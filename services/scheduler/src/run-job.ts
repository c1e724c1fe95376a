/**
 * One run of one job: the handler, retried up to max_retries times with a short backoff, under
 * one deadline for the whole run (timeout_seconds covers every attempt and the waits between
 * them). A run ends as
 * - success: an attempt returned before the deadline;
 * - failed: every attempt threw (the message names the last error and how many attempts);
 * - timeout: the deadline passed; the handler's signal was aborted and it stopped (or did not
 *   stop within `abandonAfterMs`, and was left behind);
 * - cancelled: the scheduler stopped (SIGTERM, or its lock was lost) during the run.
 */
import type { Clock } from './clock.js';
import type { JobHandler, JobResult } from './jobs/handler.js';
import type { RunStatus } from './job-row.js';

export interface RunOptions {
  handler: JobHandler;
  /** Builds the handler's context for one attempt. */
  context: (attempt: number, signal: AbortSignal) => Parameters<JobHandler>[0];
  timeoutMs: number;
  maxRetries: number;
  clock: Clock;
  /** Wait before retry number `retry` (1-based); 0 retries at once. */
  retryDelayMs: (retry: number) => number;
  /** After an abort, how long the handler may take to stop before the run is recorded anyway. */
  abandonAfterMs: number;
  /** Aborted when the scheduler stops or loses its lock. */
  stop: AbortSignal;
  /** Told of each attempt that threw (before the next one, or the failure). */
  onAttemptFailed?: (attempt: number, message: string) => void;
}

export interface RunOutcome {
  status: RunStatus;
  attempts: number;
  durationMs: number;
  summary?: string;
  /** For last_error_message: NULL after a success. */
  error?: string;
}

const MAX_ERROR_CHARS = 2_000;

export class RunTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)}`);
    this.name = 'RunTimeoutError';
  }
}

export class RunCancelledError extends Error {
  constructor(reason: string) {
    super(`cancelled: ${reason}`);
    this.name = 'RunCancelledError';
  }
}

/** The backoff between attempts: 1 s, 2 s, 4 s, ... capped at 30 s. */
export const defaultRetryDelayMs = (retry: number): number => Math.min(30_000, 1_000 * 2 ** (retry - 1));

export async function runJob(opts: RunOptions): Promise<RunOutcome> {
  const { clock } = opts;
  const started = clock.monotonicMs();
  const controller = new AbortController();
  const cancelDeadline = clock.setTimer(opts.timeoutMs, () =>
    controller.abort(new RunTimeoutError(opts.timeoutMs)),
  );
  const onStop = () => controller.abort(new RunCancelledError(reasonText(opts.stop.reason)));
  if (opts.stop.aborted) onStop();
  else opts.stop.addEventListener('abort', onStop, { once: true });

  const errors: string[] = [];
  const attemptsAllowed = 1 + Math.max(0, opts.maxRetries);
  let attempts = 0;
  let abandoned = false;
  const finish = (outcome: Omit<RunOutcome, 'attempts' | 'durationMs'>): RunOutcome => ({
    ...outcome,
    attempts,
    durationMs: Math.max(0, clock.monotonicMs() - started),
  });

  try {
    while (attempts < attemptsAllowed && !controller.signal.aborted) {
      attempts += 1;
      try {
        const attempt = attempts;
        const result = await settleOrAbandon(
          () => opts.handler(opts.context(attempt, controller.signal)),
          controller.signal,
          opts.abandonAfterMs,
          clock,
        );
        // Returning after the abort is a handler that stopped early: the work is not known complete.
        if (controller.signal.aborted) break;
        return finish({ status: 'success', ...summaryOf(result) });
      } catch (err) {
        if (err instanceof AbandonedError) abandoned = true;
        if (controller.signal.aborted) break;
        errors.push(`attempt ${attempts}: ${messageOf(err)}`);
        opts.onAttemptFailed?.(attempts, messageOf(err));
        if (attempts < attemptsAllowed) await wait(opts.retryDelayMs(attempts), controller.signal, clock);
      }
    }
    const reason: unknown = controller.signal.reason;
    if (controller.signal.aborted) {
      const status: RunStatus = reason instanceof RunCancelledError ? 'cancelled' : 'timeout';
      const left = abandoned
        ? `; the handler did not stop within ${formatSeconds(opts.abandonAfterMs)} and was left behind`
        : '';
      const head = `${messageOf(reason)} (attempt ${attempts} of ${attemptsAllowed})${left}`;
      return finish({ status, error: compose(head, errors) });
    }
    const last = errors.pop() ?? 'failed';
    const head = `${last.replace(/^attempt \d+: /, '')} (${attempts} of ${attemptsAllowed} attempts failed)`;
    return finish({ status: 'failed', error: compose(head, errors) });
  } finally {
    cancelDeadline();
    opts.stop.removeEventListener('abort', onStop);
  }
}

class AbandonedError extends Error {}

/**
 * The handler's result; or, once `signal` is aborted, at most `graceMs` more of waiting for it.
 * A handler that ignores its signal must not hold the scheduler (and the other jobs) forever.
 */
function settleOrAbandon<T>(
  work: () => Promise<T>,
  signal: AbortSignal,
  graceMs: number,
  clock: Clock,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cancelGrace = () => {};
    const onAbort = () => {
      cancelGrace = clock.setTimer(graceMs, () => reject(new AbandonedError('abandoned')));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      cancelGrace();
      signal.removeEventListener('abort', onAbort);
    };
    // Promise.resolve().then: a handler that throws synchronously is a rejection like any other.
    Promise.resolve()
      .then(work)
      .then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
  });
}

function wait(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function summaryOf(result: JobResult): { summary?: string } {
  return result && typeof result.summary === 'string' ? { summary: result.summary } : {};
}

function compose(head: string, earlier: string[]): string {
  const text = earlier.length > 0 ? `${head}; earlier: ${earlier.join('; ')}` : head;
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, ' ').trim() || (err instanceof Error ? err.name : 'error');
}

function reasonText(reason: unknown): string {
  return typeof reason === 'string'
    ? reason
    : reason instanceof Error
      ? reason.message
      : 'scheduler stopping';
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}
