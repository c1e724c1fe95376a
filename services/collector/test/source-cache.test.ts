import t from 'tap';
import { SourceCache, writeKeyOf } from '../src/source-cache.js';
import { hashWriteKey } from '../../shared/src/sources/write-key.js';

const source = { id: 's-1', name: 'web' };

t.test('a revoked key stops working once its cache entry expires', async (t) => {
  let now = 0;
  let active = true;
  let lookups = 0;
  const cache = new SourceCache(
    async (hash) => {
      lookups++;
      return active && hash === hashWriteKey('key-1') ? source : undefined;
    },
    30_000,
    10,
    () => now,
  );
  t.same(await cache.resolve('key-1'), source);
  active = false; // revoked in the database
  now = 29_000;
  t.same(await cache.resolve('key-1'), source, 'still cached');
  t.equal(lookups, 1);
  now = 30_001;
  t.equal(await cache.resolve('key-1'), undefined, 'revocation noticed after the TTL');
});

t.test('a database outage keeps known keys working; unknown keys are cached briefly', async (t) => {
  let now = 0;
  let down = false;
  let lookups = 0;
  const cache = new SourceCache(
    async (hash) => {
      lookups++;
      if (down) throw new Error('connection refused');
      return hash === hashWriteKey('good') ? source : undefined;
    },
    30_000,
    10,
    () => now,
  );
  t.same(await cache.resolve('good'), source);
  t.equal(await cache.resolve('bad'), undefined);
  t.equal(await cache.resolve('bad'), undefined);
  t.equal(lookups, 2, 'the unknown key was looked up once');
  down = true;
  now = 60_000;
  t.same(await cache.resolve('good'), source, 'stale entry used while the database is down');
  await t.rejects(cache.resolve('never-seen'), /connection refused/, 'an unknown key cannot be vouched for');
});

t.test('write key from Basic auth, the body, or the query the route passes', async (t) => {
  t.equal(writeKeyOf(`Basic ${Buffer.from('abc:').toString('base64')}`, {}), 'abc');
  t.equal(writeKeyOf(`basic ${Buffer.from('abc').toString('base64')}`, {}), 'abc');
  t.equal(writeKeyOf(undefined, { writeKey: 'xyz' }), 'xyz');
  t.equal(writeKeyOf('Bearer nope', { writeKey: '' }), undefined);
  t.equal(writeKeyOf(undefined, null), undefined);
  t.equal(writeKeyOf(undefined, { batch: [] }, 'qk'), 'qk', 'the beacon: only the query has it');
  t.equal(writeKeyOf(undefined, { writeKey: 'xyz' }, 'qk'), 'xyz', 'the body comes first');
  t.equal(writeKeyOf(`Basic ${Buffer.from('abc:').toString('base64')}`, {}, 'qk'), 'abc');
  t.equal(writeKeyOf(undefined, {}, ''), undefined);
  t.equal(writeKeyOf(undefined, {}, ['a', 'b']), undefined, 'a repeated parameter is no key');
});
