/**
 * The scheduler as processes (main.ts) on a private database with the seed's rows: one takes
 * the lock and schedules the rows, a second stands by; kill -9 the first and the second takes
 * over and runs a due job; SIGTERM exits 0 and releases the lock.
 */
import t from 'tap';
import pg from 'pg';
import { startPrivatePostgres } from '../../shared/test/private-postgres.js';
import { startProcessor, type ProcessorProcess } from '../../shared/test/processor-process.js';
import { waitFor } from '../../shared/test/support.js';

const startScheduler = (url: string): ProcessorProcess =>
  startProcessor('services/scheduler/src/main.ts', {
    DATABASE_URL: url,
    SCHEDULER_PORT: '0',
    SCHEDULER_POLL_MS: '200',
    LOG_LEVEL: 'info',
  });

/** The ops port, from the "scheduler started" log line. */
async function opsPort(p: ProcessorProcess): Promise<number> {
  return waitFor('the scheduler to start', () => {
    for (const line of p.lines()) {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'scheduler started' && typeof entry.port === 'number') return entry.port;
      } catch {
        // not JSON
      }
    }
    return undefined;
  });
}

async function metric(port: number, name: string): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

t.test('leader, standby, kill -9, takeover, SIGTERM', async (t) => {
  const server = await startPrivatePostgres();
  const admin = new pg.Pool({ connectionString: server.url, max: 2 });
  t.teardown(async () => {
    await admin.end();
    await server.destroy();
  });
  const lockHolder = async () => {
    const { rows } = await admin.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'scheduler/%'`,
    );
    return rows.map((r) => r.application_name);
  };
  const job = async (name: string) =>
    (await admin.query('SELECT * FROM scheduled_jobs WHERE job_name = $1', [name])).rows[0] as Record<
      string,
      unknown
    >;

  const a = startScheduler(server.url);
  t.teardown(() => void a.child.kill('SIGKILL'));
  const portA = await opsPort(a);
  await waitFor(
    'a to hold the lock',
    async () => (await lockHolder()).join() === `scheduler/${a.child.pid}/lock`,
  );
  await waitFor(
    'the seed rows scheduled',
    async () => (await job('hourly_segment_refresh')).next_run_at !== null,
  );
  const cohort = await waitFor('the cohort row reported', async () => {
    const row = await job('weekly_cohort_analysis');
    return row.last_error_message ? row : undefined;
  });
  t.match(cohort, {
    next_run_at: null,
    total_runs: 0,
    last_error_message: /unsupported job_name "weekly_cohort_analysis"/,
  });
  for (const name of ['daily_customer_metrics', 'daily_engagement_scores'])
    t.not((await job(name)).next_run_at, null, `${name} scheduled`);

  const b = startScheduler(server.url);
  t.teardown(() => void b.child.kill('SIGKILL'));
  const portB = await opsPort(b);
  await waitFor('b connected', async () => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
      `scheduler/${b.child.pid}/lock`,
    ]);
    return rowCount === 1;
  });
  t.match(await metric(portA, 'scheduler_leader'), /scheduler_leader\{service="scheduler"\} 1/);
  t.match(await metric(portB, 'scheduler_leader'), /scheduler_leader\{service="scheduler"\} 0/);
  t.equal((await fetch(`http://127.0.0.1:${portB}/readyz`)).status, 200, 'a standby is ready');

  a.child.kill('SIGKILL');
  await a.exit;
  const { rows } = await admin.query<{ t: Date }>(
    "UPDATE scheduled_jobs SET next_run_at = now() - interval '1 minute' WHERE job_name = 'hourly_segment_refresh' RETURNING now() AS t",
  );
  const ran = await waitFor('b to run the due job', async () => {
    const row = await job('hourly_segment_refresh');
    return row.last_run_status === 'success' && (row.last_run_at as Date) >= rows[0]!.t ? row : undefined;
  });
  t.same(await lockHolder(), [`scheduler/${b.child.pid}/lock`], 'b holds the lock');
  t.ok((ran.next_run_at as Date) > new Date(), 'next_run_at moved past now');
  t.match(
    await metric(portB, 'scheduler_job_runs_total'),
    /job="hourly_segment_refresh",status="success"[^}]*\} 1/,
  );

  await b.stop();
  t.same(await b.exit, { code: 0, signal: null }, 'SIGTERM: exit 0', { output: b.lastLines() });
  t.same(await lockHolder(), [], 'the lock is released');
});
