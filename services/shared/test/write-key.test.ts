import t from 'tap';
import { hashWriteKey, newWriteKey, writeKeyHint } from '../src/sources/write-key.js';

t.test('keys are random, url-safe, hashed deterministically', async (t) => {
  const a = newWriteKey();
  const b = newWriteKey();
  t.not(a, b);
  t.match(a, /^[A-Za-z0-9_-]{32}$/);
  t.equal(hashWriteKey(a), hashWriteKey(a));
  t.match(hashWriteKey(a), /^[0-9a-f]{64}$/);
  t.equal(writeKeyHint(a), a.slice(0, 6));
});
