import t from 'tap';
import { Lifecycle } from '../src/lifecycle.js';
import { createLogger } from '../src/logger.js';

const logger = createLogger('test', 'silent');

t.test('stops parts once, in reverse order, exit 0 on a signal', async (t) => {
  const order: string[] = [];
  let code: number | undefined;
  const lc = new Lifecycle(logger, 5_000, (c) => void (code = c));
  lc.onStop('pool', async () => void order.push('pool'));
  lc.onStop('consumer', async () => void order.push('consumer'));
  void lc.shutdown('SIGTERM');
  void lc.shutdown('SIGTERM');
  await new Promise((r) => setTimeout(r, 10));
  t.same(order, ['consumer', 'pool']);
  t.equal(code, 0);
});

t.test('an error, or a part failing to stop, exits non-zero', async (t) => {
  let code: number | undefined;
  const lc = new Lifecycle(logger, 5_000, (c) => void (code = c));
  lc.onStop('broken', async () => {
    throw new Error('nope');
  });
  void lc.shutdown('SIGTERM');
  await new Promise((r) => setTimeout(r, 10));
  t.equal(code, 1);

  let code2: number | undefined;
  const lc2 = new Lifecycle(logger, 5_000, (c) => void (code2 = c));
  void lc2.shutdown(new Error('consumer crashed'));
  await new Promise((r) => setTimeout(r, 10));
  t.equal(code2, 1);
});
