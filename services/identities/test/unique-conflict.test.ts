/** A unique violation inside a link or merge retries the batch; test/concurrency.test.ts provokes one. */
import t from 'tap';
import { isDataError, isRetryable, RetryableError } from '../../shared/src/errors.js';
import { isUniqueViolation, retryableIfUniqueConflict } from '../src/db/unique-conflict.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

t.test('23505 becomes retryable, keeping the original as its cause', async (t) => {
  const original = pgError('23505');
  t.ok(isDataError(original), 'alone, the runtime would take it for bad data');
  const err = retryableIfUniqueConflict(original, 'merging');
  t.type(err, RetryableError);
  t.ok(isRetryable(err));
  t.notOk(isDataError(err), 'so the batch is not bisected and nothing is dead-lettered');
  t.equal((err as Error).cause, original);
  t.match((err as Error).message, /^merging: a concurrent transaction .*pg 23505/);
});

t.test('any other error passes unchanged', async (t) => {
  for (const err of [pgError('23503'), pgError('22001'), pgError('40P01'), new TypeError('bug'), 'text'])
    t.equal(retryableIfUniqueConflict(err, 'merging'), err);
  t.notOk(isUniqueViolation(null));
  t.notOk(isUniqueViolation({ code: 23505 }));
  t.ok(isUniqueViolation({ code: '23505' }));
});
