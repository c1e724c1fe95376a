import t from 'tap';
import { dedupIdsOf, ID_LIMITS, idOf, idTooLong, KAFKA_SOURCE_KEY } from '../src/ids.js';

t.test('idOf: a non-empty string made storable, else no id', async (t) => {
  t.equal(idOf('u-1'), 'u-1');
  t.equal(idOf('a\u0000b'), 'a\uFFFDb', 'NUL becomes U+FFFD, the neighbours stay apart');
  t.equal(idOf('x\ud800'), 'x\uFFFD', 'a lone surrogate too');
  t.equal(idOf('😀'), '😀', 'a valid pair is kept');
  for (const none of ['', null, undefined, 42, {}, ['u']]) t.equal(idOf(none), null, JSON.stringify(none));
});

t.test('idTooLong: over the limit in characters, never cut', async (t) => {
  t.equal(ID_LIMITS.id, 100);
  t.equal(idTooLong('userId', 'x'.repeat(100)), null, 'exactly the limit fits');
  t.same(idTooLong('userId', 'x'.repeat(101)), {
    ok: false,
    reason: 'impossible-value',
    errors: ['userId is longer than 100 characters'],
  });
  t.equal(idTooLong('userId', '😀'.repeat(100)), null, '100 emoji are 100 characters, 200 UTF-16 units');
  t.match(idTooLong('userId', '😀'.repeat(101)), { reason: 'impossible-value' });
  t.equal(idTooLong('userId', null), null, 'no id is not too long');
  t.match(idTooLong('order_id', 'o'.repeat(11), 10), { errors: ['order_id is longer than 10 characters'] });
});

t.test('dedupIdsOf: messageId required, sourceId else the Kafka source key', async (t) => {
  t.same(dedupIdsOf('m-1', 'src'), { ok: true, value: { messageId: 'm-1', sourceKey: 'src' } });
  t.same(dedupIdsOf('m-1', null), { ok: true, value: { messageId: 'm-1', sourceKey: KAFKA_SOURCE_KEY } });
  t.same(dedupIdsOf('m-1', ''), { ok: true, value: { messageId: 'm-1', sourceKey: 'kafka' } });
  t.same(dedupIdsOf('m\u0000', 's\u0000'), {
    ok: true,
    value: { messageId: 'm\uFFFD', sourceKey: 's\uFFFD' },
  });
  t.ok(dedupIdsOf('m'.repeat(255), 's'.repeat(100)).ok, 'both at their limits');
  for (const messageId of ['', null, 'm'.repeat(256)]) {
    t.same(dedupIdsOf(messageId, null), {
      ok: false,
      reason: 'schema-invalid',
      errors: ['messageId is empty or longer than 255 characters'],
    });
  }
  t.same(dedupIdsOf('m-1', 's'.repeat(101)), {
    ok: false,
    reason: 'impossible-value',
    errors: ['sourceId is longer than 100 characters'],
  });
});
