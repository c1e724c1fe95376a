import t from 'tap';
import fc from 'fast-check';
import { canonicalJson } from '../src/text/canonical-json.js';

t.test('key order does not matter, at any depth; array order does', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  t.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  t.not(canonicalJson([1, 2]), canonicalJson([2, 1]));
  // JavaScript's property order: integer-like keys first, in numeric order.
  t.equal(canonicalJson({ b: 0, 10: 0, a: 0, 2: 0 }), '{"2":0,"10":0,"a":0,"b":0}');
});

t.test('scalars and what JSON cannot hold', async (t) => {
  t.equal(canonicalJson(null), 'null');
  t.equal(canonicalJson('a"b\u0000'), '"a\\"b\\u0000"');
  t.equal(canonicalJson(1.5), '1.5');
  t.equal(canonicalJson(true), 'true');
  t.equal(canonicalJson(undefined), 'null');
  t.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}', 'an undefined property is left out');
  t.equal(canonicalJson([undefined, 1]), '[null,1]', 'an undefined array element is null');
  t.equal(canonicalJson({ a: new Date(0) }), '{"a":{}}', 'objects by their own keys: no toJSON');
});

t.test('a __proto__ key is kept as a plain key', async (t) => {
  const value = JSON.parse('{"z":1,"__proto__":{"x":1}}') as unknown;
  t.equal(canonicalJson(value), '{"__proto__":{"x":1},"z":1}');
});

t.test('property: the text is JSON of the same value, and does not depend on key order', async (t) => {
  const shuffledKeys = (v: unknown, seed: number): unknown => {
    if (Array.isArray(v)) return v.map((x) => shuffledKeys(x, seed));
    if (typeof v !== 'object' || v === null) return v;
    const entries = Object.entries(v).sort(
      ([a], [b]) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7) || (a < b ? 1 : -1),
    );
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries)
      Object.defineProperty(out, k, { value: shuffledKeys(x, seed), enumerable: true });
    return out;
  };
  await fc.assert(
    fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 1000 }), (value, seed) => {
      const text = canonicalJson(value);
      t.same(JSON.parse(text), JSON.parse(JSON.stringify(value)));
      t.equal(canonicalJson(shuffledKeys(value, seed)), text);
    }),
    { seed: Number(process.env.FUZZ_SEED ?? 20260110), numRuns: 200 },
  );
});
