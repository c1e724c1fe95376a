/** Cron + timezone arithmetic (pure): the seed's rows, timezones, both DST transitions, bad input. */
import t from 'tap';
import { compileSchedule, type Schedule } from '../src/schedule.js';

function schedule(cron: string | null, tz: string | null = 'UTC', frequency: string | null = null): Schedule {
  const result = compileSchedule(cron, tz, frequency);
  if (!result.ok) throw new Error(result.problem);
  return result.schedule;
}

const next = (s: Schedule, after: string) => s.nextAfter(new Date(after))?.toISOString();

t.test("the seed's four rows", async (t) => {
  const wed = '2024-01-03T10:00:00.000Z'; // a Wednesday
  t.equal(next(schedule('0 2 * * *'), wed), '2024-01-04T02:00:00.000Z', 'daily_customer_metrics');
  t.equal(next(schedule('0 * * * *'), wed), '2024-01-03T11:00:00.000Z', 'hourly_segment_refresh');
  t.equal(next(schedule('0 3 * * 1'), wed), '2024-01-08T03:00:00.000Z', 'weekly_cohort_analysis: Monday');
  t.equal(next(schedule('0 4 * * *'), wed), '2024-01-04T04:00:00.000Z', 'daily_engagement_scores');
});

t.test('the next occurrence is strictly after the reference', async (t) => {
  const s = schedule('0 2 * * *');
  t.equal(next(s, '2024-01-03T02:00:00.000Z'), '2024-01-04T02:00:00.000Z');
  t.equal(next(s, '2024-01-03T01:59:59.999Z'), '2024-01-03T02:00:00.000Z');
});

t.test('the expression is read in the row timezone', async (t) => {
  const berlin = schedule('0 2 * * *', 'Europe/Berlin');
  t.equal(next(berlin, '2024-01-10T12:00:00Z'), '2024-01-11T01:00:00.000Z', 'winter: UTC+1');
  t.equal(next(berlin, '2024-07-10T12:00:00Z'), '2024-07-11T00:00:00.000Z', 'summer: UTC+2');
  t.equal(next(schedule('0 9 * * *', 'Asia/Kolkata'), '2024-01-10T00:00:00Z'), '2024-01-10T03:30:00.000Z');
  t.equal(schedule('0 2 * * *', null).timezone, 'UTC', 'NULL timezone is UTC');
});

t.test('DST: spring forward runs a time in the gap once, right after it', async (t) => {
  // 2024-03-10 02:00 EST -> 03:00 EDT in New York: 02:30 does not exist that day.
  const ny = schedule('30 2 * * *', 'America/New_York');
  const runs = [next(ny, '2024-03-09T00:00:00Z')];
  runs.push(next(ny, runs[0]!));
  runs.push(next(ny, runs[1]!));
  t.same(runs, ['2024-03-09T07:30:00.000Z', '2024-03-10T07:00:00.000Z', '2024-03-11T06:30:00.000Z']);
});

t.test('DST: fall back runs a repeated time once, at its first occurrence', async (t) => {
  // 2024-11-03 02:00 EDT -> 01:00 EST: 01:30 happens twice (05:30Z and 06:30Z).
  const ny = schedule('30 1 * * *', 'America/New_York');
  t.equal(next(ny, '2024-11-03T05:00:00Z'), '2024-11-03T05:30:00.000Z');
  t.equal(next(ny, '2024-11-03T05:30:00Z'), '2024-11-04T06:30:00.000Z', 'not again at 06:30Z');
  t.equal(next(ny, '2024-11-03T06:00:00Z'), '2024-11-04T06:30:00.000Z', 'between the two: next day');
  // An hourly job keeps running hourly through the repeated hour.
  const hourly = schedule('0 * * * *', 'America/New_York');
  const hours = [next(hourly, '2024-11-03T04:30:00Z')];
  for (let i = 0; i < 3; i++) hours.push(next(hourly, hours[i]!));
  t.same(hours, [
    '2024-11-03T05:00:00.000Z',
    '2024-11-03T06:00:00.000Z',
    '2024-11-03T07:00:00.000Z',
    '2024-11-03T08:00:00.000Z',
  ]);
});

t.test('names, nicknames, whitespace and frequency', async (t) => {
  t.equal(next(schedule('0 3 * * MON'), '2024-01-03T10:00:00Z'), '2024-01-08T03:00:00.000Z');
  t.equal(next(schedule('  0   2 * *  * '), '2024-01-03T10:00:00Z'), '2024-01-04T02:00:00.000Z');
  t.equal(next(schedule('@daily'), '2024-01-03T10:00:00Z'), '2024-01-04T00:00:00.000Z');
  t.equal(next(schedule('@HOURLY'), '2024-01-03T10:00:00Z'), '2024-01-03T11:00:00.000Z');
  t.equal(
    next(schedule(null, 'UTC', 'weekly'), '2024-01-03T10:00:00Z'),
    '2024-01-07T00:00:00.000Z',
    'frequency stands in',
  );
  t.equal(schedule('0 2 * * *', 'UTC', 'weekly').expression, '0 2 * * *', 'cron_expression wins');
});

t.test('bad schedules are refused with a message naming the problem', async (t) => {
  const problem = (cron: string | null, tz: string | null = 'UTC', frequency: string | null = null) => {
    const r = compileSchedule(cron, tz, frequency);
    return r.ok ? 'accepted' : r.problem;
  };
  t.match(problem('61 * * * *'), /invalid cron_expression "61 \* \* \* \*": Invalid value for minute: 61/);
  t.match(problem('0 2 * *'), /invalid cron_expression "0 2 \* \*": expected 5 fields/);
  t.match(problem('0 0 2 * * *'), /expected 5 fields/, 'seconds are refused');
  t.match(problem('2030-01-01T00:00:00'), /expected 5 fields/, 'a date is not a schedule');
  t.match(problem('@reboot'), /invalid cron_expression "@reboot"/);
  t.match(problem('every day'), /invalid cron_expression/);
  t.match(problem('0 2 * * *', 'Mars/Olympus_Mons'), /invalid timezone "Mars\/Olympus_Mons"/);
  t.match(problem(null), /no cron_expression/);
  t.match(problem('', 'UTC', 'fortnightly'), /no cron_expression/);
  t.equal(compileSchedule('0 0 30 2 *', 'UTC').ok, true, 'never occurring compiles...');
  t.equal(schedule('0 0 30 2 *').nextAfter(new Date()), null, '...and has no next occurrence');
});
