import { RetryableError } from '../../../shared/src/errors.js';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/**
 * A unique violation met while linking ids or merging customers, as a RetryableError. It never comes
 * from the record: every insert of a link is ON CONFLICT DO NOTHING, and a merge first combines the
 * rows both customers have in a one-row-per-customer table, then deletes the merged one's and only
 * then moves the rest. What still collides was inserted by a concurrent transaction between those
 * statements (a membership, a campaign send for the survivor: their writers take only key-share
 * locks on it). As a data error (class 23) the runtime would bisect the batch and dead-letter a good
 * identify; retried, the batch decides again and combines what is there then. Other errors pass.
 */
export function retryableIfUniqueConflict(err: unknown, during: string): unknown {
  if (!isUniqueViolation(err)) return err;
  return new RetryableError(
    `${during}: a concurrent transaction wrote a row with the same unique key (${(err as Error).message})`,
    { cause: err },
  );
}
