import t from 'tap';
import { ConfigError } from '../../shared/src/config.js';
import { loadSchedulerConfig } from '../src/config.js';

t.test('defaults', async (t) => {
  t.same(loadSchedulerConfig({}), {
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/cdp',
    logLevel: 'info',
    kafkaBrokers: ['127.0.0.1:9092'],
    schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
    topicPrefix: '',
    port: 9105,
    pollMs: 15_000,
  });
});

t.test('every bad variable is named, no value echoed', async (t) => {
  const err = t.throws(() =>
    loadSchedulerConfig({
      SCHEDULER_POLL_MS: '10',
      SCHEDULER_PORT: 'x',
      DATABASE_URL: 'mysql://secret@h/db',
    }),
  ) as ConfigError;
  t.ok(err instanceof ConfigError);
  t.match(err.message, /SCHEDULER_POLL_MS must be between 100/);
  t.match(err.message, /SCHEDULER_PORT must be a whole number/);
  t.match(err.message, /DATABASE_URL must be a postgres: or postgresql: URL/);
  t.notMatch(err.message, /secret/);
});
