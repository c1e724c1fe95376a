import t from 'tap';
import { PoisonError, RetryableError, isDataError, isRetryable } from '../src/errors.js';

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

t.test('data errors: what PostgreSQL refuses because of the values, never its own failures', async (t) => {
  const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
  for (const code of ['22021', '22P05', '22001', '22003', '23505', '23514', '54000', '54001'])
    t.equal(isDataError(pgError(code)), true, code);
  for (const code of ['08006', '57P01', '40001', '40P01', '53300', '55P03', '42P01', 'ECONNRESET'])
    t.equal(isDataError(pgError(code)), false, code);
  t.equal(isDataError(new TypeError('bug')), false);
  t.equal(
    isDataError(pgError('23503')),
    false,
    'a referenced row deleted meanwhile: the state, not the data',
  );
  t.equal(isRetryable(pgError('23503')), true, '... so the batch is retried');
  const noPartition = Object.assign(new Error('no partition of relation "customer_events" found for row'), {
    code: '23514',
  });
  t.equal(isDataError(noPartition), false, "a dropped partition is not the record's fault");
  t.equal(isRetryable(noPartition), false, '... the process restarts and creates it again');
  t.equal(isDataError({ code: '22021' }), false, 'only errors');
});
