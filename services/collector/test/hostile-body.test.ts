/**
 * What PostgreSQL cannot store is made storable at the door (the rule of text/storable.ts), and
 * nesting past the limit is a 400 naming where: the inputs that once halted the event sink.
 */
import t from 'tap';
import { gzipSync } from 'node:zlib';
import { MAX_JSON_DEPTH } from '../../shared/src/text/storable.js';
import { basic, harness, WRITE_KEY } from './support.js';

const headers = { authorization: basic(WRITE_KEY), 'content-type': 'application/json' };

t.test('NUL and lone surrogates in ids, names, keys and values become U+FFFD', async (t) => {
  const h = await harness();
  // Raw JSON text: the escapes are what a client puts on the wire.
  const payload =
    '{"userId":"a\\u0000b","anonymousId":"x\\ud800","event":"E\\u0000","messageId":"m\\udfff-1",' +
    '"properties":{"k\\ud800":"\\udfff","a":"b\\u0000c","emoji":"\\ud83d\\ude00","deep":[{"\\u0000":1}]},' +
    '"context":{"page":{"title":"t\\u0000"}}}';
  const res = await h.app.inject({ method: 'POST', url: '/v1/track', headers, payload });
  t.equal(res.statusCode, 200, res.body);
  const v = h.published[0]!.value as Record<string, unknown>;
  t.equal(v.userId, 'a\uFFFDb');
  t.equal(v.anonymousId, 'x\uFFFD');
  t.equal(v.event, 'E\uFFFD');
  t.equal(v.messageId, 'm\uFFFD-1');
  t.same(JSON.parse(v.propertiesJson as string), {
    'k\uFFFD': '\uFFFD',
    a: 'b\uFFFDc',
    emoji: '\ud83d\ude00',
    deep: [{ '\uFFFD': 1 }],
  });
  t.notMatch(v.propertiesJson as string, /\\u0000|\\ud[89a-f]/i, 'no escape PostgreSQL refuses in jsonb');
  t.equal(((v.context as Record<string, unknown>).page as Record<string, unknown>).title, 't\uFFFD');
  t.equal(h.published[0]!.key, 'a\uFFFDb', 'the Kafka key too');
});

t.test(`nesting deeper than ${MAX_JSON_DEPTH} levels is a 400 naming where, not a 500`, async (t) => {
  const h = await harness();
  const depth = 5_000;
  const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const single = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers,
    payload: `{"userId":"u","event":"E","properties":${deep}}`,
  });
  t.equal(single.statusCode, 400, single.body);
  t.match(single.json(), {
    error: 'invalid',
    errors: [{ field: /^properties(\.a)+$/, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  });

  const arrays = '['.repeat(20_000) + ']'.repeat(20_000);
  const batch = await h.app.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { ...headers, 'content-encoding': 'gzip' },
    payload: gzipSync(
      `{"batch":[{"type":"track","userId":"u","event":"ok"},{"type":"track","userId":"u","event":"E","context":{"x":${arrays}}}]}`,
    ),
  });
  t.equal(batch.statusCode, 400, batch.body);
  t.match(batch.json(), { errors: [{ field: /^batch\[1\]\.context\.x(\[0\])+$/ }] });
  t.equal(h.published.length, 0, 'all or nothing: nothing of either request was sent');

  // The body is level 1; properties and the objects inside it are levels 2 to MAX_JSON_DEPTH.
  const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const atLimit = nested(MAX_JSON_DEPTH - 1);
  const past = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers,
    payload: `{"userId":"u","event":"E","properties":${nested(MAX_JSON_DEPTH)}}`,
  });
  t.equal(past.statusCode, 400, 'one level more is refused');
  const ok = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers,
    payload: `{"userId":"u","event":"E","properties":${atLimit}}`,
  });
  t.equal(ok.statusCode, 200, `${MAX_JSON_DEPTH} levels counting the body itself are accepted`);
});

t.test('4-byte characters count as one toward length limits, as PostgreSQL counts them', async (t) => {
  const h = await harness();
  const id = '\ud83d\ude00'.repeat(100); // 100 characters, 200 UTF-16 units
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers,
    payload: { userId: id, event: 'E' },
  });
  t.equal(res.statusCode, 200, res.body);
  const tooLong = await h.app.inject({
    method: 'POST',
    url: '/v1/track',
    headers,
    payload: { userId: id + 'x', event: 'E' },
  });
  t.equal(tooLong.statusCode, 400);
});
