/** Unit test of the configuration: defaults, and bad variables named. */
import t from 'tap';
import { ConfigError } from '../../shared/src/config.js';
import { loadOrdersConfig } from '../src/config.js';

t.test('defaults', async (t) => {
  t.match(loadOrdersConfig({}), {
    port: 9103,
    groupId: 'cdp-orders',
    maxBatchRecords: 1000,
    concurrency: 2,
    maxFutureMs: 86_400_000,
    topicPrefix: '',
  });
});

t.test('every bad variable is named', async (t) => {
  t.throws(() => loadOrdersConfig({ ORDERS_PORT: 'x', EVENT_MAX_FUTURE_MS: '-1' }), ConfigError);
  try {
    loadOrdersConfig({ ORDERS_PORT: 'x', EVENT_MAX_FUTURE_MS: '-1' });
  } catch (err) {
    t.match((err as Error).message, /ORDERS_PORT.*EVENT_MAX_FUTURE_MS/);
  }
});
