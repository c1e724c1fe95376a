import t from 'tap';
import { ConfigError, commonConfig, field, loadConfig } from '../src/config.js';

t.test('defaults follow the contract', async (t) => {
  const c = loadConfig(commonConfig, {});
  t.equal(c.databaseUrl, 'postgres://postgres@127.0.0.1:5432/cdp');
  t.same(c.kafkaBrokers, ['127.0.0.1:9092']);
  t.equal(c.schemaRegistryUrl, 'http://127.0.0.1:8081/apis/ccompat/v7');
  t.equal(c.logLevel, 'info');
  t.ok(Object.isFrozen(c));
});

t.test('every bad variable is named, no value is echoed', async (t) => {
  const secret = 'mysql://admin:hunter2@db/x';
  const err = t.throws(() =>
    loadConfig(
      { ...commonConfig, port: field.int('COLLECTOR_PORT', 8080, { min: 1, max: 65535 }) },
      {
        DATABASE_URL: secret,
        KAFKA_BROKERS: 'nohostport',
        LOG_LEVEL: 'loud',
        COLLECTOR_PORT: '99999',
      },
    ),
  ) as ConfigError;
  t.type(err, ConfigError);
  t.equal(err.problems.length, 4);
  for (const v of ['DATABASE_URL', 'KAFKA_BROKERS', 'LOG_LEVEL', 'COLLECTOR_PORT']) t.match(err.message, v);
  t.notMatch(err.message, 'hunter2');
});

t.test('parsers', async (t) => {
  const spec = {
    n: field.int('N', undefined),
    b: field.bool('B', false),
    brokers: field.hostPorts('BROKERS', 'a:1'),
  };
  t.same(loadConfig(spec, { N: '42', B: 'yes', BROKERS: 'k1:9092, k2:9093' }), {
    n: 42,
    b: true,
    brokers: ['k1:9092', 'k2:9093'],
  });
  t.throws(() => loadConfig(spec, { N: '4.2' }), /N must be a whole number/);
  t.throws(() => loadConfig(spec, {}), /N is required/);
  t.throws(() => loadConfig(spec, { N: '1', B: 'maybe' }), /B must be true or false/);
});
