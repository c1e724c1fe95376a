/** One run: retries, one deadline for all attempts, cancellation, a handler that ignores its signal. */
import t from 'tap';
import type { JobContext, JobHandler } from '../src/jobs/handler.js';
import { runJob, type RunOptions } from '../src/run-job.js';
import { logger } from '../../shared/test/support.js';
import { ManualClock } from './manual-clock.js';

const flush = () => new Promise((r) => setImmediate(r));

function options(clock: ManualClock, handler: JobHandler, over: Partial<RunOptions> = {}): RunOptions {
  return {
    handler,
    context: (attempt, signal) => ({
      db: undefined as never,
      now: clock.now(),
      signal,
      logger,
      config: {},
      attempt,
    }),
    timeoutMs: 60_000,
    maxRetries: 3,
    clock,
    retryDelayMs: () => 0,
    abandonAfterMs: 5_000,
    stop: new AbortController().signal,
    ...over,
  };
}

t.test('success: the summary and the duration from the monotonic clock', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const out = await runJob(
    options(clock, async () => {
      clock.advance(1_500);
      return { summary: 'did it' };
    }),
  );
  t.same(out, { status: 'success', attempts: 1, durationMs: 1_500, summary: 'did it' });
  t.equal(clock.pendingTimers, 0, 'the deadline timer is cleared');
});

t.test('a failing attempt is retried; success on a later attempt is a success', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const failed: number[] = [];
  let calls = 0;
  const out = await runJob(
    options(
      clock,
      async ({ attempt }: JobContext) => {
        calls++;
        if (attempt < 3) throw new Error(`flaky ${attempt}`);
      },
      { onAttemptFailed: (attempt) => failed.push(attempt) },
    ),
  );
  t.match(out, { status: 'success', attempts: 3 });
  t.equal(out.error, undefined);
  t.equal(calls, 3);
  t.same(failed, [1, 2]);
});

t.test(
  'every attempt fails: failed after 1 + max_retries, naming the last error and the earlier ones',
  async (t) => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    let calls = 0;
    const out = await runJob(
      options(
        clock,
        async () => {
          calls++;
          throw new Error(`boom ${calls}`);
        },
        { maxRetries: 2 },
      ),
    );
    t.equal(out.status, 'failed');
    t.equal(calls, 3);
    t.equal(out.error, 'boom 3 (3 of 3 attempts failed); earlier: attempt 1: boom 1; attempt 2: boom 2');
  },
);

t.test('max_retries 0: one attempt; a synchronous throw is a failure like any other', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const out = await runJob(
    options(
      clock,
      (() => {
        throw new Error('sync');
      }) as unknown as JobHandler,
      { maxRetries: 0 },
    ),
  );
  t.match(out, { status: 'failed', attempts: 1, error: 'sync (1 of 1 attempts failed)' });
});

t.test('the backoff between attempts waits on the clock', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  let calls = 0;
  const run = runJob(
    options(
      clock,
      async () => {
        calls++;
        if (calls === 1) throw new Error('first');
      },
      { retryDelayMs: (retry) => retry * 10_000 },
    ),
  );
  await flush();
  t.equal(calls, 1, 'waiting');
  clock.advance(9_999);
  await flush();
  t.equal(calls, 1, 'still waiting');
  clock.advance(1);
  const out = await run;
  t.match(out, { status: 'success', attempts: 2, durationMs: 10_000 });
});

t.test(
  'timeout: the signal aborts, the handler stops, the run is a timeout and is not retried',
  async (t) => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    let calls = 0;
    const out = await runJob(
      options(clock, async ({ signal }) => {
        calls++;
        for (let slice = 0; slice < 100; slice++) {
          signal.throwIfAborted();
          clock.advance(1_000); // a slice of work
        }
      }),
    );
    t.equal(out.status, 'timeout');
    t.equal(calls, 1);
    t.equal(out.durationMs, 60_000);
    t.equal(out.error, 'timed out after 60s (attempt 1 of 4)');
  },
);

t.test('timeout_seconds bounds the whole run: a deadline during the backoff ends it', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  let calls = 0;
  const run = runJob(
    options(
      clock,
      async () => {
        calls++;
        throw new Error('down');
      },
      { retryDelayMs: () => 120_000 },
    ),
  );
  await flush();
  clock.advance(60_000);
  const out = await run;
  t.equal(calls, 1);
  t.equal(out.status, 'timeout');
  t.equal(out.error, 'timed out after 60s (attempt 1 of 4); earlier: attempt 1: down');
});

t.test('a handler that ignores its signal is left behind after the grace period', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const run = runJob(options(clock, () => new Promise(() => {})));
  await flush();
  clock.advance(60_000);
  await flush();
  clock.advance(5_000);
  const out = await run;
  t.equal(out.status, 'timeout');
  t.match(out.error, /did not stop within 5s and was left behind/);
});

t.test('returning normally after the deadline is still a timeout (the work may be partial)', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const out = await runJob(
    options(clock, async () => {
      clock.advance(61_000);
      return { summary: 'stopped early' };
    }),
  );
  t.equal(out.status, 'timeout');
});

t.test('stop: the run is cancelled, with the reason', async (t) => {
  const clock = new ManualClock('2024-01-01T00:00:00Z');
  const stop = new AbortController();
  const run = runJob(
    options(
      clock,
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
      { stop: stop.signal },
    ),
  );
  await flush();
  stop.abort('the scheduler is stopping');
  const out = await run;
  t.match(out, {
    status: 'cancelled',
    attempts: 1,
    error: 'cancelled: the scheduler is stopping (attempt 1 of 4)',
  });
});
