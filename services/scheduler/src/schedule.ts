/**
 * A job's schedule: its cron expression read in its timezone. Pure functions over croner, the one
 * file that imports it. Expressions are standard 5-field cron (minute hour day-of-month month
 * day-of-week, names allowed) or croner's @hourly/@daily/@weekly/@monthly/@yearly nicknames. A
 * 6- or 7-field pattern (seconds, years) is refused: the scheduler polls every few seconds, so
 * second-level schedules would only mislead, and a date string would silently become a one-off.
 */
import { Cron } from 'croner';

export interface Schedule {
  readonly expression: string;
  readonly timezone: string;
  /** The first occurrence strictly after `after`, or null if there is none. */
  nextAfter(after: Date): Date | null;
}

export type ScheduleResult = { ok: true; schedule: Schedule } | { ok: false; problem: string };

/** `frequency` stands in when `cron_expression` is empty, as the seed's table allows both. */
const FREQUENCY_PATTERNS: Readonly<Record<string, string>> = {
  hourly: '@hourly',
  daily: '@daily',
  weekly: '@weekly',
  monthly: '@monthly',
};

const NICKNAMES = new Set(['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually']);

export function compileSchedule(
  cronExpression: string | null,
  timezone: string | null,
  frequency: string | null = null,
): ScheduleResult {
  const tz = timezone?.trim() || 'UTC';
  if (!isValidTimezone(tz)) return { ok: false, problem: `invalid timezone "${clip(tz)}"` };

  let expression = cronExpression?.trim().replace(/\s+/g, ' ') ?? '';
  if (expression === '') {
    const fromFrequency = frequency ? FREQUENCY_PATTERNS[frequency.trim().toLowerCase()] : undefined;
    if (!fromFrequency)
      return { ok: false, problem: 'no cron_expression (and no hourly/daily/weekly/monthly frequency)' };
    expression = fromFrequency;
  }
  const isNickname = expression.startsWith('@');
  if (isNickname ? !NICKNAMES.has(expression.toLowerCase()) : expression.split(' ').length !== 5) {
    return {
      ok: false,
      problem: `invalid cron_expression "${clip(expression)}": expected 5 fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly`,
    };
  }

  let cron: Cron;
  try {
    cron = new Cron(isNickname ? expression.toLowerCase() : expression, {
      mode: isNickname ? 'auto' : '5-part',
      timezone: tz,
      // No callback is given, so croner never starts a timer; paused makes that explicit.
      paused: true,
    });
  } catch (err) {
    return { ok: false, problem: `invalid cron_expression "${clip(expression)}": ${croneMessage(err)}` };
  }
  const schedule: Schedule = {
    expression,
    timezone: tz,
    nextAfter: (after) => cron.nextRun(after),
  };
  return { ok: true, schedule };
}

/** IANA names as the runtime's Intl knows them ("Europe/Berlin", "UTC"); abbreviations it rejects are refused. */
export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// croner prefixes its messages with the class name ("CronPattern: ..."), which says nothing to an operator.
function croneMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Cron\w*:\s*/, '');
}

function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
