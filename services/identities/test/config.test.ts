import t from 'tap';
import { ConfigError } from '../../shared/src/config.js';
import { loadIdentitiesConfig } from '../src/config.js';

t.test('defaults', async (t) => {
  const c = loadIdentitiesConfig({});
  t.match(c, {
    port: 9102,
    groupId: 'cdp-identities',
    maxBatchRecords: 1000,
    maxFutureMs: 86_400_000,
    topicPrefix: '',
  });
  t.ok(Object.isFrozen(c));
});

t.test('every bad variable is named, no value is echoed', async (t) => {
  const err = t.throws(() =>
    loadIdentitiesConfig({ IDENTITIES_PORT: 'eighty', EVENT_MAX_FUTURE_MS: '-1', IDENTITIES_GROUP: 'g' }),
  ) as ConfigError;
  t.ok(err instanceof ConfigError);
  t.match(err.message, /IDENTITIES_PORT/);
  t.match(err.message, /EVENT_MAX_FUTURE_MS/);
  t.notMatch(err.message, /eighty/);
});
