/**
 * The storable-text rule, property by property, and against PostgreSQL itself: whatever string a
 * client sends, the rule's output is accepted by text and jsonb columns.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  jsonTextNeedsNormalizing,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  storableJson,
  storableJsonText,
  storableString,
} from '../src/text/storable.js';
import { codePointLength, truncateCodePoints } from '../src/text/code-points.js';
import { createDb } from '../src/pg/gateway.js';
import { createRegistry } from '../src/metrics/registry.js';
import { config } from './support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const runs = { seed: SEED, numRuns: 500 };

/** Strings mixing what breaks PostgreSQL with ordinary, 4-byte, bidi and zero-width characters. */
const hostileChar = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
    '\ud83d\ude00',
    '\u202e',
    '\u200b',
    '\ufeff',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
const hostileString = fc.array(hostileChar, { maxLength: 20 }).map((cs) => cs.join(''));

const isWellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

t.test('storableString: no NUL, no lone surrogate; pairs and everything else kept; idempotent', async () => {
  fc.assert(
    fc.property(hostileString, (s) => {
      const out = storableString(s);
      if (out.includes('\u0000')) return false;
      if (!isWellFormed(out)) return false; // a lone surrogate does not survive UTF-8
      if (storableString(out) !== out) return false;
      if (out.length !== s.length) return false; // one unit replaced by one unit
      if (isWellFormed(s) && !s.includes('\u0000')) return out === s;
      return true;
    }),
    runs,
  );
});

t.test('storableString examples', async (t) => {
  t.equal(storableString('a\u0000b'), 'a\uFFFDb');
  t.equal(storableString('k\ud800'), 'k\uFFFD');
  t.equal(storableString('\udfffx'), '\uFFFDx');
  t.equal(storableString('\ud83d\ude00'), '\ud83d\ude00', 'a valid pair is kept');
  t.equal(storableString('\ude00\ud83d'), '\uFFFD\uFFFD', 'a reversed pair is two lone halves');
  t.equal(storableString('plain'), 'plain');
});

t.test('storableJson: keys and values at any depth, key order kept, __proto__ stays data', async (t) => {
  const value = JSON.parse(
    '{"k\\ud800":"\\udfff","a":["b\\u0000c",{"__proto__":"x\\u0000"}],"n":1,"z":null,"constructor":"\\u0000"}',
  ) as Record<string, unknown>;
  const out = storableJson(value);
  t.same(Object.keys(out), ['k\uFFFD', 'a', 'n', 'z', 'constructor']);
  t.same(out['k\uFFFD'], '\uFFFD');
  t.same((out.a as unknown[])[0], 'b\uFFFDc');
  const inner = (out.a as Record<string, unknown>[])[1]!;
  t.equal(Object.getPrototypeOf(inner), Object.prototype, 'the prototype is untouched');
  t.equal(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value, 'x\uFFFD');
  t.equal(out.constructor, '\uFFFD');
});

t.test('storableJsonText leaves clean text alone and cleans escaped and raw forms', async (t) => {
  const clean = '{"a":"b","e":"\\ud83d\\ude00 ok"}';
  t.equal(jsonTextNeedsNormalizing('{"a":"b"}'), false);
  t.equal(storableJsonText('{"a":"b"}'), '{"a":"b"}', 'same text, not re-serialised');
  t.equal(storableJsonText(clean), '{"a":"b","e":"\ud83d\ude00 ok"}', 'a valid escaped pair survives');
  t.equal(storableJsonText('{"a":"b\\u0000c"}'), '{"a":"b\uFFFDc"}');
  t.equal(storableJsonText('{"k\\uD800":"\\uDFFF"}'), '{"k\uFFFD":"\uFFFD"}');
});

t.test('jsonTooDeepAt names where the limit is passed, and is safe on any depth', async (t) => {
  const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });
  t.equal(jsonTooDeepAt(nest(MAX_JSON_DEPTH)), null, 'exactly the limit is fine');
  t.equal(jsonTooDeepAt(nest(MAX_JSON_DEPTH + 1)), Array(MAX_JSON_DEPTH).fill('a').join('.'));
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
  t.match(jsonTooDeepAt({ batch: [{ properties: deep }] }), /^batch\[0\]\.properties(\[0\])+$/);
  t.equal(jsonTooDeepAt('text'), null);
});

t.test('code points: lengths as VARCHAR(n) counts them, cuts never split a pair', async () => {
  fc.assert(
    fc.property(hostileString, fc.nat(25), (s, n) => {
      const cut = truncateCodePoints(s, n);
      const chars = [...s];
      return (
        codePointLength(s) === chars.length &&
        cut === chars.slice(0, n).join('') &&
        codePointLength(cut) === Math.min(n, chars.length)
      );
    }),
    runs,
  );
});

t.test('PostgreSQL stores whatever the rule outputs, as text and as jsonb', async (t) => {
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'storable-test',
    registry: createRegistry('storable-test'),
  });
  t.teardown(() => db.end());
  const samples = fc.sample(fc.tuple(hostileString, hostileString), { seed: SEED, numRuns: 300 });
  const texts = samples.map(([a]) => storableString(a));
  const jsons = samples.map(([k, v]) => storableJsonText(JSON.stringify({ [k]: v, nested: [v] })));
  const { rows } = await db.query<{ t: string; j: unknown }>(
    'test.storable',
    'SELECT t, j::jsonb AS j FROM unnest($1::text[], $2::text[]) AS u(t, j)',
    [texts, jsons],
  );
  t.equal(rows.length, samples.length);
  t.same(
    rows.map((r) => r.t),
    texts,
    'text comes back as sent',
  );
  t.same(
    rows.map((r) => r.j),
    jsons.map((j) => JSON.parse(j) as unknown),
    'jsonb comes back as sent',
  );
});
