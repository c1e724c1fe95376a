/** The size bound never under-estimates, so the limit stays exact: only the serialisation is spared. */
import t from 'tap';
import fc from 'fast-check';
import { jsonBytesBound, jsonLargerThan } from '../src/event-size.js';

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

t.test('the bound is never below the JSON size, whatever the value', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => jsonBytesBound(v, Number.MAX_SAFE_INTEGER) >= bytes(v)),
    { numRuns: 2_000 },
  );
  const nasty = {
    '\u0001\ud800': ['\u0000\u001f"\\', '\udc00', '\u{1f600}', -1.2345678901234567e-308, null, true],
  };
  t.ok(
    jsonBytesBound(nasty, Number.MAX_SAFE_INTEGER) >= bytes(nasty),
    'control characters, lone surrogates, emoji',
  );
});

t.test('jsonLargerThan is exact at the limit', async (t) => {
  const item = { type: 'track', event: 'E', properties: { s: 'x'.repeat(1000) } };
  const n = bytes(item);
  t.equal(jsonLargerThan(item, n), false, 'exactly at the limit: not larger');
  t.equal(jsonLargerThan(item, n - 1), true, 'one byte over');
  t.equal(jsonLargerThan(item, 32 * 1024), false, 'far under');
  t.ok(jsonBytesBound(item, 100) > 100, 'the walk stops early once past the limit');
});
