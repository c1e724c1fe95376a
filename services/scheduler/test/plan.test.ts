/** What the scheduler decides for a row at a given instant (pure): due, catch-up, NULL, disabled, bad rows. */
import t from 'tap';
import type { JobRow } from '../src/job-row.js';
import { planJob, type Plan } from '../src/plan.js';

const row = (over: Partial<JobRow> = {}): JobRow => ({
  id: 'id-1',
  job_name: 'hourly',
  cron_expression: '0 * * * *',
  frequency: null,
  timezone: 'UTC',
  job_config: {},
  timeout_seconds: 3600,
  max_retries: 3,
  is_enabled: true,
  last_run_at: null,
  last_run_duration_ms: null,
  last_run_status: null,
  last_error_message: null,
  next_run_at: null,
  ...over,
});
const at = (iso: string) => new Date(iso);
const NOW = at('2024-05-06T10:20:00Z');
const kind = (p: Plan) => p.kind;
const nextOf = (p: Plan) => (p.kind === 'reschedule' ? (p.nextRunAt?.toISOString() ?? null) : undefined);

t.test('a job that never ran gets its next occurrence and does not run at once', async (t) => {
  const p = planJob(row(), NOW, true);
  t.equal(kind(p), 'reschedule');
  t.equal(nextOf(p), '2024-05-06T11:00:00.000Z');
});

t.test(
  'a due job runs; one long overdue runs (once: the caller then moves next_run_at past now)',
  async (t) => {
    t.equal(kind(planJob(row({ next_run_at: at('2024-05-06T10:00:00Z') }), NOW, true)), 'run');
    t.equal(kind(planJob(row({ next_run_at: NOW }), NOW, true)), 'run', 'due at exactly now');
    t.equal(
      kind(planJob(row({ next_run_at: at('2024-05-01T03:00:00Z') }), NOW, true)),
      'run',
      'days of downtime',
    );
  },
);

t.test('a job not yet due whose next_run_at is the next occurrence stays idle', async (t) => {
  t.equal(kind(planJob(row({ next_run_at: at('2024-05-06T11:00:00Z') }), NOW, true)), 'idle');
});

t.test('a changed schedule moves next_run_at to the new next occurrence', async (t) => {
  const p = planJob(
    row({ cron_expression: '0 2 * * *', next_run_at: at('2024-05-06T11:00:00Z') }),
    NOW,
    true,
  );
  t.equal(kind(p), 'reschedule');
  t.equal(nextOf(p), '2024-05-07T02:00:00.000Z');
  const tz = planJob(
    row({
      cron_expression: '0 12 * * *',
      timezone: 'Europe/Berlin',
      next_run_at: at('2024-05-06T12:00:00Z'),
    }),
    NOW,
    true,
  );
  t.equal(nextOf(tz), '2024-05-07T10:00:00.000Z', "noon in Berlin is 10:00Z in May (today's has passed)");
});

t.test(
  'next_run_at NULL after earlier runs: a missed occurrence runs now, otherwise it is scheduled',
  async (t) => {
    const missed = row({ last_run_at: at('2024-05-06T08:00:00Z'), last_run_duration_ms: 60_000 });
    t.equal(kind(planJob(missed, NOW, true)), 'run', '09:00 and 10:00 passed since the last run ended');
    const recent = row({ last_run_at: at('2024-05-06T10:00:00Z'), last_run_duration_ms: 5 * 60_000 });
    const p = planJob(recent, NOW, true);
    t.equal(kind(p), 'reschedule');
    t.equal(nextOf(p), '2024-05-06T11:00:00.000Z');
    // A run that ended after the occurrence that followed its start does not count that one as missed.
    const long = row({ last_run_at: at('2024-05-06T09:30:00Z'), last_run_duration_ms: 45 * 60_000 });
    t.equal(kind(planJob(long, NOW, true)), 'reschedule');
  },
);

t.test('a disabled job never runs; its next_run_at is kept current', async (t) => {
  const overdue = planJob(row({ is_enabled: false, next_run_at: at('2024-05-06T09:00:00Z') }), NOW, true);
  t.equal(kind(overdue), 'reschedule', 'not run...');
  t.equal(nextOf(overdue), '2024-05-06T11:00:00.000Z', '...moved to the next occurrence after now');
  t.equal(
    kind(planJob(row({ is_enabled: false, next_run_at: at('2024-05-06T11:00:00Z') }), NOW, true)),
    'idle',
  );
  t.equal(nextOf(planJob(row({ is_enabled: false }), NOW, true)), '2024-05-06T11:00:00.000Z', 'NULL too');
  t.equal(
    kind(planJob(row({ is_enabled: false, next_run_at: at('2024-05-06T09:00:00Z') }), NOW, false)),
    'reschedule',
    'with or without a handler',
  );
  const invalid = planJob(
    row({ is_enabled: false, cron_expression: 'nope', next_run_at: at('2024-05-06T09:00:00Z') }),
    NOW,
    true,
  );
  t.same(
    invalid,
    { kind: 'reschedule', nextRunAt: null, why: 'disabled' },
    'a disabled bad row is only unscheduled',
  );
  // Re-enabled: the kept next_run_at is in the future, so nothing fires for the time it was off.
  t.equal(kind(planJob(row({ next_run_at: at('2024-05-06T11:00:00Z') }), NOW, true)), 'idle');
});

t.test('a bad schedule is reported once and not run', async (t) => {
  const bad = row({ cron_expression: '0 25 * * *', next_run_at: at('2024-05-06T09:00:00Z') });
  const p = planJob(bad, NOW, true);
  t.equal(kind(p), 'problem');
  if (p.kind !== 'problem') return;
  t.equal(p.problem, 'invalid');
  t.match(p.message, /^not run: invalid cron_expression "0 25 \* \* \*": Invalid value for hour: 25/);
  const recorded = { ...bad, next_run_at: null, last_run_status: 'failed', last_error_message: p.message };
  t.equal(kind(planJob(recorded, NOW, true)), 'idle', 'once the row says so, nothing more');

  const tz = planJob(row({ timezone: 'Nowhere/Else' }), NOW, true);
  t.match(tz, { kind: 'problem', problem: 'invalid', message: /invalid timezone "Nowhere\/Else"/ });
  const never = planJob(row({ cron_expression: '0 0 30 2 *' }), NOW, true);
  t.match(never, { kind: 'problem', message: /has no future occurrence/ });
  const timeout = planJob(row({ timeout_seconds: 0 }), NOW, true);
  t.match(timeout, { kind: 'problem', message: /timeout_seconds must be positive/ });
});

t.test('a job_name without a handler is reported once as unsupported and not run', async (t) => {
  const p = planJob(row({ next_run_at: at('2024-05-06T09:00:00Z'), last_run_status: 'success' }), NOW, false);
  t.match(p, { kind: 'problem', problem: 'unsupported', message: /unsupported job_name "hourly"/ });
  if (p.kind !== 'problem') return;
  const recorded = row({ next_run_at: null, last_run_status: 'success', last_error_message: p.message });
  t.equal(kind(planJob(recorded, NOW, false)), 'idle');
  t.equal(kind(planJob(recorded, NOW, true)), 'reschedule', 'a handler appears: scheduled from now');
});
