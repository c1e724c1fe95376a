import t from 'tap';
import { PoisonError, RetryableError, isRetryable } from '../src/errors.js';

t.test('classification', async (t) => {
  t.equal(isRetryable(new RetryableError('down')), true);
  t.equal(isRetryable(new PoisonError('undecodable', 'bad bytes')), false);
  t.equal(isRetryable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), true);
  t.equal(isRetryable(Object.assign(new Error('admin shutdown'), { code: '57P01' })), true);
  t.equal(isRetryable(Object.assign(new Error('deadlock'), { code: '40P01' })), true);
  t.equal(
    isRetryable(Object.assign(new Error('bad input'), { code: '22P02' })),
    false,
    'data errors are not retried',
  );
  t.equal(isRetryable(Object.assign(new Error('kafka'), { retriable: true })), true);
  t.equal(isRetryable(new Error('Connection terminated unexpectedly')), true);
  t.equal(isRetryable(new TypeError('bug')), false);
  t.equal(isRetryable(undefined), false);
});
