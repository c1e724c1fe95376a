/**
 * The scheduler against a real PostgreSQL (a private one: the shared database may have a real
 * scheduler running). Time is a ManualClock; each test has its own job_name prefix and lock
 * name, so the seed's rows in the database are never run or touched.
 */
import t from 'tap';
import pg from 'pg';
import type { Db } from '../../shared/src/pg/gateway.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../shared/test/private-postgres.js';
import { waitFor } from '../../shared/test/support.js';
import type { JobContext, JobHandler } from '../src/jobs/handler.js';
import {
  capturingLogger,
  insertJob,
  iso,
  jobState,
  ManualClock,
  randomName,
  startScheduler,
  testDb,
} from './support.js';

let server: PrivatePostgres;
let admin: pg.Pool;
let db: Db;

t.before(async () => {
  server = await startPrivatePostgres();
  admin = new pg.Pool({ connectionString: server.url, max: 3 });
  db = testDb(server.url);
});
t.teardown(async () => {
  await db?.end();
  await admin?.end();
  await server?.destroy();
});

/** A per-test namespace: job names under `prefix`, a lock of its own. */
function scope() {
  const prefix = `${randomName('sched')}:`;
  return { prefix, lockName: `${prefix}lock`, name: (n: string) => `${prefix}${n}` };
}

async function terminate(applicationName: string): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
}

t.test('catch-up: first sight schedules without running; after downtime a job runs once', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:20:00Z');
  const calls: JobContext[] = [];
  const handler: JobHandler = async (ctx) => {
    calls.push(ctx);
    clock.advance(calls.length === 1 ? 2_000 : 4_000);
    return { summary: 'ok' };
  };
  await insertJob(admin, { job_name: s.name('hourly'), job_config: { periods: 3 } });
  const a = startScheduler({
    url: server.url,
    db,
    clock,
    jobs: new Map([[s.name('hourly'), handler]]),
    ...s,
  });
  t.teardown(() => a.close());

  t.same((await a.scheduler.tick()).ran, [], 'nothing runs at first sight');
  let row = await jobState(admin, s.name('hourly'));
  t.equal(iso(row.next_run_at), '2024-05-06T11:00:00.000Z', 'next_run_at computed from now');
  t.equal(row.total_runs, 0);

  clock.advanceTo('2024-05-09T14:05:00Z'); // 3 days down: 75 occurrences missed
  const report = await a.scheduler.tick();
  t.equal(report.ran.length, 1, 'one run for all the missed occurrences');
  t.equal(calls.length, 1);
  t.same(calls[0]!.config, { periods: 3 }, 'the handler gets job_config');
  t.equal(calls[0]!.now.toISOString(), '2024-05-09T14:05:00.000Z', 'and the run start as now');
  row = await jobState(admin, s.name('hourly'));
  t.equal(iso(row.next_run_at), '2024-05-09T15:00:00.000Z', 'then the next occurrence after now');
  t.match(row, {
    last_run_status: 'success',
    last_error_message: null,
    total_runs: 1,
    successful_runs: 1,
    failed_runs: 0,
  });
  t.equal(iso(row.last_run_at), '2024-05-09T14:05:00.000Z');
  t.equal(row.last_run_ms, 2_000);
  t.equal(row.average_ms, 2_000);

  t.same((await a.scheduler.tick()).ran, [], 'a second tick at the same time runs nothing');
  clock.advanceTo('2024-05-09T15:00:00Z');
  await a.scheduler.tick();
  row = await jobState(admin, s.name('hourly'));
  t.match(row, { total_runs: 2, successful_runs: 2, last_run_ms: 4_000, average_ms: 3_000 });
  t.equal(iso(row.next_run_at), '2024-05-09T16:00:00.000Z');
  t.equal(await a.leaderGauge(), 1, 'scheduler_leader is 1');
});

t.test('statistics after failures, retries and timeouts', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:00:00Z');
  let mode: 'fail' | 'flaky' | 'slow' | 'ok' = 'fail';
  let calls = 0;
  const handler: JobHandler = async ({ attempt, signal }) => {
    calls++;
    clock.advance(1_000);
    if (mode === 'fail') throw new Error(`database says no (${attempt})`);
    if (mode === 'flaky' && attempt < 3) throw new Error('transient');
    if (mode === 'slow') {
      for (;;) {
        signal.throwIfAborted();
        clock.advance(10_000);
      }
    }
  };
  const name = s.name('stats');
  await insertJob(admin, { job_name: name, max_retries: 2, timeout_seconds: 30, next_run_at: clock.now() });
  const a = startScheduler({ url: server.url, db, clock, jobs: new Map([[name, handler]]), ...s });
  t.teardown(() => a.close());
  const runAt = async (when: string) => {
    clock.advanceTo(when);
    return (await a.scheduler.tick()).ran;
  };

  let ran = await runAt('2024-05-06T10:00:00Z');
  t.match(ran, [{ status: 'failed', attempts: 3 }]);
  t.equal(calls, 3, '1 + max_retries attempts');
  let row = await jobState(admin, name);
  t.match(row, {
    last_run_status: 'failed',
    total_runs: 1,
    successful_runs: 0,
    failed_runs: 1,
    last_run_ms: 3_000,
  });
  t.equal(
    row.last_error_message,
    'database says no (3) (3 of 3 attempts failed); earlier: attempt 1: database says no (1); attempt 2: database says no (2)',
  );
  t.equal(iso(row.next_run_at), '2024-05-06T11:00:00.000Z', 'a failed run waits for the next occurrence');

  mode = 'flaky';
  calls = 0;
  ran = await runAt('2024-05-06T11:00:00Z');
  t.match(ran, [{ status: 'success', attempts: 3 }]);
  row = await jobState(admin, name);
  t.match(row, {
    last_run_status: 'success',
    last_error_message: null,
    total_runs: 2,
    successful_runs: 1,
    failed_runs: 1,
  });
  t.equal(calls, 3, 'retried within the one run: one run per occurrence');

  mode = 'slow';
  ran = await runAt('2024-05-06T12:00:00Z');
  t.match(ran, [{ status: 'timeout', attempts: 1 }]);
  row = await jobState(admin, name);
  t.match(row, {
    last_run_status: 'timeout',
    total_runs: 3,
    successful_runs: 1,
    failed_runs: 2,
    last_run_ms: 31_000,
  });
  t.match(row.last_error_message, /^timed out after 30s \(attempt 1 of 3\)$/);
  // 31 s: the slice in progress when the deadline passed ends first (the handler stops between slices).
  // An interval keeps microseconds: the mean is exact to a microsecond.
  t.equal(row.average_ms, 12_333.333, 'average_duration is the mean over all runs');

  mode = 'ok';
  await runAt('2024-05-06T13:00:00Z');
  row = await jobState(admin, name);
  t.match(row, {
    last_run_status: 'success',
    last_error_message: null,
    total_runs: 4,
    successful_runs: 2,
    failed_runs: 2,
  });
  t.equal(row.average_ms, (3_000 + 3_000 + 31_000 + 1_000) / 4);
});

t.test('bad rows: reported once with a clear message, not run, and the others still run', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:00:00Z');
  const capture = capturingLogger();
  let ran = 0;
  const ok: JobHandler = async () => {
    ran++;
  };
  const past = new Date('2024-05-06T09:00:00Z');
  await insertJob(admin, { job_name: s.name('bad-cron'), cron_expression: '0 25 * * *', next_run_at: past });
  await insertJob(admin, { job_name: s.name('bad-tz'), timezone: 'Moon/Tranquility', next_run_at: past });
  await insertJob(admin, { job_name: s.name('no-handler'), next_run_at: past });
  await insertJob(admin, { job_name: s.name('good'), next_run_at: past });
  const jobs = new Map([
    [s.name('bad-cron'), ok],
    [s.name('bad-tz'), ok],
    [s.name('good'), ok],
  ]);
  const a = startScheduler({ url: server.url, db, clock, jobs, logger: capture.logger, ...s });
  t.teardown(() => a.close());

  const report = await a.scheduler.tick();
  t.same(
    report.ran.map((r) => r.job),
    [s.name('good')],
    'only the good job ran',
  );
  t.equal(ran, 1);

  const cron = await jobState(admin, s.name('bad-cron'));
  t.match(cron, { last_run_status: 'failed', next_run_at: null, total_runs: 0, failed_runs: 0 });
  t.match(
    cron.last_error_message,
    /^not run: invalid cron_expression "0 25 \* \* \*": Invalid value for hour: 25/,
  );
  const tz = await jobState(admin, s.name('bad-tz'));
  t.match(tz, { last_run_status: 'failed', next_run_at: null, total_runs: 0 });
  t.equal(tz.last_error_message, 'not run: invalid timezone "Moon/Tranquility"');
  const unsupported = await jobState(admin, s.name('no-handler'));
  t.match(unsupported, { last_run_status: null, next_run_at: null, total_runs: 0, failed_runs: 0 });
  t.match(unsupported.last_error_message, /^not run: unsupported job_name ".*no-handler"/);

  // Later ticks neither write nor log again.
  clock.advanceTo('2024-05-06T12:30:00Z');
  await a.scheduler.tick();
  await a.scheduler.tick();
  t.equal(
    (await jobState(admin, s.name('bad-cron'))).updated_at.getTime(),
    cron.updated_at.getTime(),
    'not rewritten',
  );
  t.equal(
    (await jobState(admin, s.name('no-handler'))).updated_at.getTime(),
    unsupported.updated_at.getTime(),
  );
  t.equal(ran, 2, 'the good job kept running (the missed 11:00 and 12:00 caught up in one run)');
  const warnings = capture.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('not run:'));
  t.equal(warnings.length, 3, 'each problem logged once');

  // Fixing the row puts it back on the schedule.
  await admin.query("UPDATE scheduled_jobs SET cron_expression = '0 2 * * *' WHERE job_name = $1", [
    s.name('bad-cron'),
  ]);
  await a.scheduler.tick();
  t.equal(iso((await jobState(admin, s.name('bad-cron'))).next_run_at), '2024-05-07T02:00:00.000Z');
});

t.test('a disabled job does not run; re-enabled, it waits for its next occurrence', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:30:00Z');
  let ran = 0;
  const name = s.name('toggle');
  await insertJob(admin, {
    job_name: name,
    is_enabled: false,
    next_run_at: new Date('2024-05-06T09:00:00Z'),
  });
  const a = startScheduler({
    url: server.url,
    db,
    clock,
    jobs: new Map([[name, async () => void ran++]]),
    ...s,
  });
  t.teardown(() => a.close());

  await a.scheduler.tick();
  t.equal(ran, 0, 'disabled: not run though overdue');
  t.equal(
    iso((await jobState(admin, name)).next_run_at),
    '2024-05-06T11:00:00.000Z',
    'next_run_at kept current',
  );
  clock.advanceTo('2024-05-06T12:30:00Z');
  await a.scheduler.tick();
  t.equal(ran, 0);
  t.equal(iso((await jobState(admin, name)).next_run_at), '2024-05-06T13:00:00.000Z');

  await admin.query('UPDATE scheduled_jobs SET is_enabled = true WHERE job_name = $1', [name]);
  await a.scheduler.tick();
  t.equal(ran, 0, 're-enabled: nothing fires for the time it was off');
  clock.advanceTo('2024-05-06T13:00:00Z');
  await a.scheduler.tick();
  t.equal(ran, 1, 'runs at its next occurrence');
});

t.test('two schedulers on one database: exactly one runs each occurrence', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:00:00Z');
  const runsBy = { a: 0, b: 0 };
  const name = s.name('shared');
  await insertJob(admin, { job_name: name, next_run_at: clock.now() });
  const a = startScheduler({
    url: server.url,
    db,
    clock,
    jobs: new Map([[name, async () => void runsBy.a++]]),
    ...s,
  });
  const b = startScheduler({
    url: server.url,
    db,
    clock,
    jobs: new Map([[name, async () => void runsBy.b++]]),
    ...s,
  });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });

  for (let hour = 10; hour < 16; hour++) {
    clock.advanceTo(`2024-05-06T${hour}:00:00Z`);
    const [ra, rb] = await Promise.all([a.scheduler.tick(), b.scheduler.tick()]);
    t.equal(Number(ra.leader) + Number(rb.leader), 1, `${hour}:00: one leader`);
    t.equal(ra.ran.length + rb.ran.length, 1, `${hour}:00: one run`);
  }
  t.equal(runsBy.a + runsBy.b, 6, 'six occurrences, six runs in all');
  t.ok(runsBy.a === 0 || runsBy.b === 0, 'all by the same leader');
  t.same([await a.leaderGauge(), await b.leaderGauge()].sort(), [0, 1], 'scheduler_leader: one 1, one 0');
  t.equal((await jobState(admin, name)).total_runs, 6);
});

/** A job that, on `a`, runs until its signal aborts; on `b`, returns at once. */
function blockingOnA(name: string) {
  let started: () => void = () => {};
  const aStarted = new Promise<void>((r) => (started = r));
  const runsBy = { a: 0, b: 0 };
  const onA: JobHandler = ({ signal }) => {
    runsBy.a++;
    started();
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
  };
  const onB: JobHandler = async () => void runsBy.b++;
  return { aStarted, runsBy, jobsA: new Map([[name, onA]]), jobsB: new Map([[name, onB]]) };
}

t.test(
  "the standby takes over when the leader's session dies, and reruns the job it was running",
  async (t) => {
    const s = scope();
    const clock = new ManualClock('2024-05-06T10:00:00Z');
    const name = s.name('takeover');
    const job = blockingOnA(name);
    await insertJob(admin, { job_name: name, next_run_at: clock.now() });
    const a = startScheduler({ url: server.url, db, clock, jobs: job.jobsA, ...s });
    const b = startScheduler({ url: server.url, db, clock, jobs: job.jobsB, ...s });
    t.teardown(async () => {
      await a.close();
      await b.close();
    });

    const aTick = a.scheduler.tick();
    await job.aStarted;
    t.equal((await b.scheduler.tick()).leader, false, 'b stands by while a runs the job');

    await terminate(a.applicationName); // a's lock session is cut: the lock goes with it
    const aReport = await aTick;
    t.match(aReport, { leader: false, ran: [{ status: 'cancelled', error: /the scheduler lost its lock/ }] });
    t.equal(await a.leaderGauge(), 0, "a's scheduler_leader drops to 0");
    let row = await jobState(admin, name);
    t.match(row, { total_runs: 0, last_run_status: null }, 'a could not record anything');
    t.equal(iso(row.next_run_at), '2024-05-06T10:00:00.000Z', 'so the job is still due');

    // The server releases the lock as the terminated backend exits: wait for that, not for a time.
    const bReport = await waitFor('b to take the lock', async () => {
      const r = await b.scheduler.tick();
      return r.leader ? r : undefined;
    });
    t.match(bReport.ran, [{ status: 'success' }], 'b ran the job a was running');
    t.same(job.runsBy, { a: 1, b: 1 });
    t.equal(await b.leaderGauge(), 1);
    row = await jobState(admin, name);
    t.match(row, { total_runs: 1, successful_runs: 1, last_run_status: 'success' });
    t.equal((await a.scheduler.tick()).leader, false, 'a comes back as the standby');
  },
);

t.test('stop(): the running job is cancelled and left due, the lock released for the standby', async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:00:00Z');
  const name = s.name('stop');
  const job = blockingOnA(name);
  await insertJob(admin, { job_name: name, next_run_at: clock.now() });
  const a = startScheduler({ url: server.url, db, clock, jobs: job.jobsA, ...s });
  const b = startScheduler({ url: server.url, db, clock, jobs: job.jobsB, ...s });
  t.teardown(() => b.close());

  const aTick = a.scheduler.tick();
  await job.aStarted;
  clock.advance(5_000);
  await a.scheduler.stop();
  t.match(await aTick, { ran: [{ status: 'cancelled', error: /the scheduler is stopping/ }] });
  let row = await jobState(admin, name);
  t.match(row, { last_run_status: 'cancelled', total_runs: 0, failed_runs: 0, last_run_ms: 5_000 });
  t.match(row.last_error_message, /^cancelled: the scheduler is stopping/);
  t.equal(iso(row.next_run_at), '2024-05-06T10:00:00.000Z', 'still due');
  t.equal(await a.leaderGauge(), 0);
  t.same(await a.scheduler.tick(), { leader: false, ran: [] }, 'a stopped scheduler does nothing');

  const bReport = await b.scheduler.tick();
  t.equal(bReport.leader, true, 'the lock was released at once');
  t.match(bReport.ran, [{ status: 'success' }]);
  row = await jobState(admin, name);
  t.match(row, { last_run_status: 'success', total_runs: 1, last_error_message: null });
  t.equal(iso(row.next_run_at), '2024-05-06T11:00:00.000Z');
});

t.test("the job filter: the seed's rows in the same database are left alone", async (t) => {
  const s = scope();
  const clock = new ManualClock('2024-05-06T10:00:00Z');
  const before = await admin.query(
    "SELECT job_name, updated_at FROM scheduled_jobs WHERE job_type <> 'test' ORDER BY 1",
  );
  t.equal(before.rowCount, 5, "the seed's four rows and 0021's midnight_clock_metrics are there");
  const a = startScheduler({ url: server.url, db, clock, jobs: new Map(), ...s });
  await a.scheduler.tick();
  await a.close();
  const after = await admin.query(
    "SELECT job_name, updated_at FROM scheduled_jobs WHERE job_type <> 'test' ORDER BY 1",
  );
  t.same(after.rows, before.rows);
});
