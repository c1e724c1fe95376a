/**
 * What a track/page/screen event should look like in customer_events once the contract's
 * normalisation rule has been applied, and how a stored row differs from it. Fields that the
 * contract does not pin down for a given input are left undefined and not compared.
 */
import { canonicalJson, show } from '../../shared/test/hostile.js';
import type { DeadLetter, StoredEvent } from './outcomes.js';

export interface ExpectedEvent {
  /** What was sent, for failure messages. */
  label: string;
  /** Which promise it tests (judged and reported separately). */
  group?: string;
  /** Normalised: the message_id it lands with, and the key it is found by. */
  messageId: string;
  /** Must land: being dead-lettered is a failure too (the contract's normalised inputs). */
  mustLand?: boolean;
  /** customers.customer_id of its customer, normalised. */
  externalId?: string;
  eventName?: string;
  /** canonicalJson of the normalised properties. */
  properties?: string;
  sessionId?: string | null;
  pageTitle?: string | null;
  userAgent?: string | null;
}

/** How `row` differs from `e` (empty when it matches). */
export function differences(e: ExpectedEvent, row: StoredEvent): string[] {
  const out: string[] = [];
  const check = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && want !== got) out.push(`${what}: expected ${show(want)}, stored ${show(got)}`);
  };
  check('customer', e.externalId, row.external_id);
  check('event_name', e.eventName, row.event_name);
  if (e.properties !== undefined) {
    let stored: string | undefined;
    try {
      stored = canonicalJson(JSON.parse(row.event_properties));
    } catch {
      stored = row.event_properties;
    }
    check('event_properties', e.properties, stored);
  }
  check('session_id', e.sessionId, row.session_id);
  check('page_title', e.pageTitle, row.page_title);
  check('user_agent', e.userAgent, row.user_agent);
  return out;
}

export interface Verdict {
  landed: number;
  deadLettered: number;
  /** One line per broken promise: neither, both, twice, not normalised, no reason. */
  failures: string[];
  reasons: Map<string, number>;
}

/**
 * Judges every expected event against the rows and dead letters found: each is in customer_events
 * exactly once and as expected, or in the dead-letter topic with a reason, never both, never neither.
 */
export function judge(
  expected: readonly ExpectedEvent[],
  rows: Map<string, StoredEvent[]>,
  lettersFor: (e: ExpectedEvent) => DeadLetter[],
): Verdict {
  const v: Verdict = { landed: 0, deadLettered: 0, failures: [], reasons: new Map() };
  for (const e of expected) {
    const stored = rows.get(e.messageId) ?? [];
    const letters = lettersFor(e);
    const what = `${show(e.messageId, 80)} from ${e.label}`;
    if (stored.length === 0 && letters.length === 0)
      v.failures.push(`neither stored nor dead-lettered: ${what}`);
    if (stored.length > 0 && letters.length > 0)
      v.failures.push(`both stored and dead-lettered (${letters[0]!.reason}): ${what}`);
    if (stored.length > 1) v.failures.push(`stored ${stored.length} times: ${what}`);
    if (stored.length > 0) {
      v.landed++;
      const diff = differences(e, stored[0]!);
      if (diff.length > 0) v.failures.push(`stored, but not as normalised: ${diff.join('; ')}: ${what}`);
    }
    if (letters.length > 0) {
      v.deadLettered++;
      for (const l of letters) {
        v.reasons.set(l.reason, (v.reasons.get(l.reason) ?? 0) + 1);
        if (!l.reason) v.failures.push(`dead-lettered without a reason: ${what}`);
      }
      if (e.mustLand && stored.length === 0)
        v.failures.push(
          `dead-lettered (${letters[0]!.reason}: ${show(letters[0]!.errors.join('; '), 300)}) but must land: ${what}`,
        );
    }
  }
  return v;
}

/** `expected` by group, in the order groups first appear. */
export function byGroup<T extends { group?: string }>(
  expected: readonly T[],
  fallback: string,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const e of expected) {
    const g = e.group ?? fallback;
    out.set(g, [...(out.get(g) ?? []), e]);
  }
  return out;
}
